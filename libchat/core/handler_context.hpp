#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/outcome.hpp"
#include "protocol/limits.hpp"
#include "store/records.hpp"

// What a command handler sees: the connection, the realm's settings, the world outside
// (Environment) and the Request that bundles them with the realm's state. At the bottom of
// libchat/core: the handlers (core/commands/) and the Realm facade (core/realm.hpp) include
// it; it includes neither.
namespace chat::core {

class RealmState;  // users, groups, inboxes, sessions, peers (core/realm_state.hpp)

// Per-connection state. realmd owns one per client connection; the realm logic reads and
// updates it (the session bound by auth/register, failed-auth counters).
struct Connection {
  explicit Connection(std::uint64_t connection_id = 0) : id(connection_id) {}

  std::uint64_t id = 0;     // unique per realmd process
  std::string address;      // the client's IP address (auth throttling, audit log); may be empty
  std::string user;         // empty: no session bound to this connection
  std::string session_key;  // session_key(token) of the bound session

  // Failed auths of this connection within the window, and its lockout. A vector: empty, it
  // holds no memory (an idle connection keeps its Connection).
  std::vector<std::chrono::steady_clock::time_point> failed_auths;
  std::chrono::steady_clock::time_point auth_locked_until{};

  // An auth or register waiting for its PasswordJob; Realm::resume() finishes it.
  struct PendingPassword {
    enum class Kind { auth, register_user };
    Kind kind = Kind::auth;
    store::UserRecord user;  // auth: username only; register: every field but the hash
  };
  // On the heap: it is needed only while a hash runs, and inline it would make every idle
  // connection 150 bytes larger.
  std::unique_ptr<PendingPassword> pending;

  bool watching = false;  // `watch`: new messages are pushed to this connection
};

// How long history is kept (config `history:`); zero: no limit.
struct HistoryRetention {
  std::uint32_t max_age_days = 0;
  std::uint64_t max_per_conversation = 0;
  // Messages one retention pass deletes (by count) or looks at (by age) at most: a pass is
  // one short transaction beside the clients' commits.
  std::size_t batch = 1000;
};

// The world outside the pure logic, injected so that tests control it.
struct Environment {
  std::function<std::string()> new_token;                      // random lowercase UUID
  std::function<std::string()> now_utc;                        // "2026-11-26T22:33:16Z"
  std::function<std::chrono::steady_clock::time_point()> now;  // monotonic
  // This process's epoch: a random 1..2^53-1 drawn at every start, so that messages made
  // after a wipe or a restore from backup (when ids may repeat) are never taken for
  // duplicates by a peer (docs/protocol.md §2, epochs).
  std::uint64_t epoch = 1;
  // Routed envelopes are signed by their origin (docs/protocol.md §2, trust): `sign` gives the
  // signature (128 hex digits) of a message with this realm's key, `verify` checks one against
  // a public key (64 hex digits). Unset (tests of other things): envelopes go unsigned and are
  // taken unverified.
  std::function<std::string(std::string_view message)> sign{};
  std::function<bool(std::string_view public_key, std::string_view message,
                     std::string_view signature)>
      verify{};
};

// A peer named in the config (federation).
struct ConfiguredPeer {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  bool autoconnect = true;
  // Further addresses of the same realm (its standbys), dialled in turn after host:port.
  // "= {}": aggregate initializations may omit it.
  std::vector<std::pair<std::string, std::uint16_t>> alternates = {};
};

struct RealmSettings {
  std::string name;  // this realm's name
  protocol::Limits limits;
  std::vector<std::string> admins;    // may use `addrealm NAME HOST PORT`
  std::vector<ConfiguredPeer> peers;  // peers named in the config (federation)
  std::size_t max_outbox_per_peer = 100000;
  std::size_t link_window = 1024;  // realm messages in flight per link, unacked
  // How long a client reply waits for a peer: the ack of a realm send (then "queued"), the
  // fetched of getrealminbox (then "synced":false), a new link of addrealm ("connecting").
  std::chrono::milliseconds ack_timeout{2000};
  std::chrono::milliseconds fetch_timeout{2000};
  std::chrono::milliseconds link_timeout{2000};
  // Failed auths: this many per connection, or per (username, client address), within the
  // window lock that connection / that address out of that username for `lockout`. Other
  // addresses are never locked out of an account; once a username has had
  // `slow_after_failed_auths` failures within the window from anywhere, every attempt at it
  // waits `auth_slowdown` first.
  int max_failed_auths = 5;
  std::chrono::seconds failed_auth_window{60};
  std::chrono::seconds lockout{60};
  int slow_after_failed_auths = 20;
  std::chrono::milliseconds auth_slowdown{1000};
  // Bytes one inbox reply's messages take at most, JSON escapes counted (at least one
  // message); the rest waits for the next inbox call, so a huge backlog never becomes one
  // unbounded reply.
  std::size_t max_inbox_reply_bytes = 1024 * 1024;
  HistoryRetention retention;
  // Routing (docs/protocol.md §2, routing). `relay`: carry other realms' messages (and
  // announce the routes for it); `reachable_via_relays`: take messages that crossed other
  // realms (and let neighbours announce this realm on). `max_relay_queue`: envelopes of others
  // held for one next hop; past it a message is refused back to its origin.
  bool relay = true;
  bool reachable_via_relays = true;
  std::size_t max_relay_queue = 10000;
  std::chrono::milliseconds route_interval{100};
  // This realm's public signing key (64 hex digits; empty: none), and the keys pinned for other
  // realms (federation.keys in the config, and those learnt earlier and saved by realmd).
  std::string public_key;
  std::map<std::string, std::string> pinned_keys;
};

// Everything a handler may read or change. Handlers only fill in `out`.
struct Request {
  RealmState& state;
  const RealmSettings& settings;
  const Environment& env;
  Connection& conn;
  std::string_view token;                // token given in token mode, else empty
  std::string_view user;                 // the session's user ("" if the command needs none)
  std::vector<std::string_view> params;  // fixed parameters, token removed
  std::string_view text;                 // message text (commands with takes_text)
  Outcome& out;
};

using HandlerFunction = void(Request&);
using Handler = HandlerFunction*;

}  // namespace chat::core
