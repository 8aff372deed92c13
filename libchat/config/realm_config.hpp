#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

// Typed configuration of one realm (docs/design.md §6). Defaults live here and only here.
namespace chat::config {

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = any free port
};

struct PeerConfig {
  std::string name;
  Endpoint address;  // the peer's peer_listen
  // `address` given as a list: the peer_listen of the peer's other processes (its standbys),
  // dialled in turn after `address` (docs/operations.md "Standbys").
  std::vector<Endpoint> alternates = {};  // "= {}": aggregate initializations may omit it
  bool autoconnect = true;
};

struct SeedUser {
  std::string username, password, nama, negara;
};

// The longest link frame a msg of `max_message_bytes` of text can make: JSON escapes a control
// character as 6 bytes (\u001f), and the other fields (ids, names, time, keys) fit in 512.
// max_frame_bytes below this would let one valid message end the link at every redial.
constexpr std::size_t min_frame_bytes_for(std::size_t max_message_bytes) {
  return 6 * max_message_bytes + 512;
}

struct LimitsConfig {
  std::size_t max_line_bytes = 64 * 1024;
  std::size_t max_message_bytes = 16 * 1024;
  std::size_t max_connections = 10000;
  std::size_t max_pending_replies_bytes = 8 * 1024 * 1024;  // unsent reply bytes per client
  std::size_t max_outbox_per_peer = 100000;                 // queued cross-realm messages
  // A realm link frame; when not configured, raised to min_frame_bytes_for(max_message_bytes).
  std::size_t max_frame_bytes = 128 * 1024;
  // Time limits; zero means none. A connection without a session bound by auth (or register)
  // that sends no request for this long is closed: it holds a slot and has done nothing.
  std::chrono::milliseconds unauthenticated_idle{60'000};
  // A request (line or WebSocket message) begun but not finished for this long closes the
  // connection (slowloris).
  std::chrono::milliseconds partial_request{30'000};
};

// `tls:`: TLS on the client listener and/or the realm links (docs/operations.md). The web
// listener stays plain HTTP.
struct TlsConfig {
  std::filesystem::path certificate;  // PEM, this realm's certificate chain
  std::filesystem::path key;          // PEM, its private key
  // PEM; peers' certificates are verified against it (required for `peers`).
  std::filesystem::path ca;
  bool clients = true;  // realm.listen speaks TLS
  // Realm links speak TLS both ways: each side shows its certificate, each verifies the other's
  // against `ca`, and a dialled peer's certificate must name the peer (its realm name).
  bool peers = true;
};

// How history reads compete for the CPU: `background` (SCHED_IDLE: every thread of normal
// policy goes first), `normal`, or `adaptive` (uncapped while the realm writes nothing, capped
// at `cpu_percent_while_writing` of a core while writes flow).
enum class ReaderPriority { adaptive, background, normal };

// `history:` (docs/operations.md): how long messages are kept after they are read, and how
// history is read. Zero keeps: by default every message is kept for good.
struct HistoryConfig {
  std::uint32_t max_age_days = 0;          // older messages are pruned
  std::uint64_t max_per_conversation = 0;  // only the newest this many are kept
  std::size_t reader_threads = 2;          // threads reading history pages off the event loop
  ReaderPriority reader_priority = ReaderPriority::adaptive;
  // `adaptive`: the percent of one core history reads may use while the realm writes.
  unsigned cpu_percent_while_writing = 10;
  // How often a retention pass runs (each deletes at most a bounded batch).
  std::chrono::milliseconds prune_interval{10'000};
};

enum class Durability { process, fsync };

// Password hashing cost (argon2id): `interactive` (the default, about OWASP's floor) or `min`
// (libsodium's minimum, for tests).
enum class PasswordCost { interactive, min };

// `store:` (docs/operations.md "PostgreSQL"): the realm on PostgreSQL, shared by the realm's
// holder and its standbys. Absent: SQLite in data_dir.
struct StoreConfig {
  std::string url;  // a libpq URI, postgresql://...; may hold a password: never logged
  // store.lease_ms: a holder that has not renewed its lease this long is replaced by a
  // standby; it renews every third of it.
  std::chrono::milliseconds lease{3000};
};

struct RealmConfig {
  std::string name;
  Endpoint listen{"127.0.0.1", 8889};
  Endpoint peer_listen{"127.0.0.1", 9889};
  // realm.web_listen: the browser client's page and WebSocket (docs/protocol.md §3); none when
  // absent.
  std::optional<Endpoint> web_listen;
  // realm.web_origins: origins besides the page's own whose pages may open the WebSocket
  // (e.g. "https://chat.example.org" behind a reverse proxy); "scheme://host[:port]".
  std::vector<std::string> web_origins;
  // realm.admin_listen: /healthz and /metrics (docs/operations.md); none when absent.
  std::optional<Endpoint> admin_listen;
  std::filesystem::path data_dir = "data";
  std::string secret;  // federation.secret
  // federation.keepalive_ms: a link that sent nothing this long sends a ping; one that received
  // nothing for three times this long is dropped and redialled.
  std::chrono::milliseconds keepalive{5000};
  // federation.relay: carry other realms' routed messages (docs/protocol.md §2, routing).
  bool relay = true;
  // federation.reachable_via_relays: take messages that crossed other realms, and let the
  // neighbours announce this realm on.
  bool reachable_via_relays = true;
  // federation.keys: realm name -> Ed25519 public key (64 hex digits) pinned for it, so that
  // its routed messages verify against this key and no other (docs/protocol.md §2, trust).
  std::map<std::string, std::string> pinned_keys;
  std::vector<PeerConfig> peers;
  std::optional<TlsConfig> tls;
  std::vector<std::string> admins;
  std::vector<SeedUser> users;
  LimitsConfig limits;
  HistoryConfig history;
  Durability durability = Durability::process;
  std::optional<StoreConfig> store;
  PasswordCost password_cost = PasswordCost::interactive;
};

// Thrown for a missing file, a YAML syntax error, an unknown key or a bad value.
// what() names the key, e.g. "realm.listen: expected HOST:PORT, got 'x'"; from
// load_config_file it starts with "FILE:LINE:COLUMN: " (the key's place in the file).
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
  ConfigError(std::string key_path, const std::string& message)
      : std::runtime_error(message), key(std::move(key_path)) {}
  std::string key;  // the key path it is about, e.g. "peers[1].address"; "" for the document
};

// Bytes a client request line needs beside the message text of a send (command word, token,
// recipient name and separators).
inline constexpr std::size_t send_line_overhead = 128;
// Every key the loader accepts, as docs/operations.md names them: "realm.listen",
// "peers[].address", "admins" (a list of names).
std::vector<std::string> accepted_config_keys();

RealmConfig load_config_file(const std::filesystem::path& file);
RealmConfig load_config_text(const std::string& yaml_text);  // data_dir relative to cwd

// "HOST:PORT" -> Endpoint; throws ConfigError naming `key` on a bad value.
Endpoint parse_endpoint(const std::string& text, const std::string& key);

}  // namespace chat::config
