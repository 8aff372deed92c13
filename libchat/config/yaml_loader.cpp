// The only yaml-cpp user: YAML text -> RealmConfig (docs/design.md §6), one parse function per
// struct. Every rejection names the full key path so a bad start says exactly what to fix.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "config/realm_config.hpp"
#include "protocol/names.hpp"

namespace chat::config {
namespace {

std::string join_key(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_key(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

[[noreturn]] void fail_value(const std::string& key, std::string_view expected,
                             std::string_view got) {
  throw ConfigError(
      key, key + ": expected " + std::string(expected) + ", got '" + std::string(got) + "'");
}

const char* kind_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

// The keys each mapping accepts; accepted_config_keys() lists them for docs/operations.md.
using KeyList = std::span<const std::string_view>;
constexpr std::string_view top_keys[] = {"realm",      "federation", "peers",        "tls",
                                         "admins",     "users",      "limits",       "history",
                                         "durability", "store",      "password_cost"};
constexpr std::string_view realm_keys[] = {
    "name", "listen", "peer_listen", "web_listen", "web_origins", "admin_listen", "data_dir"};
constexpr std::string_view federation_keys[] = {"secret", "keepalive_ms", "relay",
                                                "reachable_via_relays", "keys"};
constexpr std::string_view peer_keys[] = {"name", "address", "autoconnect"};
constexpr std::string_view user_keys[] = {"username", "password", "nama", "negara"};
constexpr std::string_view limits_keys[] = {"max_line_bytes",          "max_message_bytes",
                                            "max_connections",         "max_pending_replies_bytes",
                                            "max_outbox_per_peer",     "max_frame_bytes",
                                            "unauthenticated_idle_ms", "partial_request_ms"};
constexpr std::string_view tls_keys[] = {"certificate", "key", "ca", "clients", "peers"};
constexpr std::string_view store_keys[] = {"url", "lease_ms"};
constexpr std::string_view history_keys[] = {
    "max_age_days",    "max_per_conversation",      "reader_threads",
    "reader_priority", "cpu_percent_while_writing", "prune_interval_ms"};

// Rejects keys outside `allowed` and repeated keys (yaml-cpp keeps both silently).
void check_keys(const YAML::Node& map, const std::string& path, KeyList allowed) {
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const std::string key = entry.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      throw ConfigError(join_key(path, key), "unknown key '" + join_key(path, key) + "'");
    }
    if (!seen.insert(key).second) {
      throw ConfigError(join_key(path, key), "duplicate key '" + join_key(path, key) + "'");
    }
  }
}

// A section that may be absent or written empty (`peers:`), otherwise a mapping.
bool is_mapping(const YAML::Node& node, const std::string& key) {
  if (!node || node.IsNull()) return false;
  if (!node.IsMap()) throw ConfigError(key, key + ": expected a mapping, got " + kind_of(node));
  return true;
}

// A list entry (a peer, a user): a mapping with only `allowed` keys.
void check_entry(const YAML::Node& node, const std::string& path, KeyList allowed) {
  if (!node.IsMap()) throw ConfigError(path, path + ": expected a mapping, got " + kind_of(node));
  check_keys(node, path, allowed);
}

bool is_list(const YAML::Node& node, const std::string& key) {
  if (!node || node.IsNull()) return false;
  if (!node.IsSequence()) throw ConfigError(key, key + ": expected a list, got " + kind_of(node));
  return true;
}

const YAML::Node& require(const YAML::Node& node, const std::string& key) {
  if (!node) throw ConfigError(key, "missing key '" + key + "'");
  return node;
}

std::string parse_scalar(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) throw ConfigError(key, key + ": expected a value, got " + kind_of(node));
  return node.Scalar();
}

// Key `name` of mapping `node` at `path`, which must be there, read by `parse`.
template <typename Parse>
auto parse_required(const YAML::Node& node, const std::string& path, const char* name,
                    Parse parse) {
  const std::string key = join_key(path, name);
  return parse(require(node[name], key), key);
}

// docs/contract.md §1.2: realm, peer, admin and user names (the protocol's rule).
std::string parse_name(const YAML::Node& node, const std::string& key) {
  std::string name = parse_scalar(node, key);
  if (!protocol::is_valid_name(name)) fail_value(key, "1-32 characters of A-Z a-z 0-9 _ . -", name);
  return name;
}

// docs/contract.md §1.2: password, nama, negara travel as one space-separated parameter.
std::string parse_word(const YAML::Node& node, const std::string& key) {
  std::string word = parse_scalar(node, key);
  if (!protocol::is_valid_field(word)) fail_value(key, "1-128 bytes without spaces", word);
  return word;
}

// Timers take milliseconds up to a day; far beyond any sensible limit, and safe to add to now.
constexpr std::size_t max_timer_ms = 24 * 3600 * 1000;

std::size_t parse_count(const YAML::Node& node, const std::string& key) {
  const std::string text = parse_scalar(node, key);
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    fail_value(key, "a non-negative integer", text);
  }
  return value;
}

std::size_t parse_positive(const YAML::Node& node, const std::string& key) {
  const std::string text = parse_scalar(node, key);
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0) {
    fail_value(key, "a positive integer", text);
  }
  return value;
}

bool parse_bool(const YAML::Node& node, const std::string& key) {
  bool value = false;
  if (!YAML::convert<bool>::decode(node, value)) {
    fail_value(key, "true or false", parse_scalar(node, key));
  }
  return value;
}

Endpoint parse_endpoint_node(const YAML::Node& node, const std::string& key) {
  return parse_endpoint(parse_scalar(node, key), key);
}

PeerConfig parse_peer(const YAML::Node& node, const std::string& path) {
  check_entry(node, path, peer_keys);
  PeerConfig peer;
  peer.name = parse_required(node, path, "name", parse_name);
  const std::string address_key = join_key(path, "address");
  const YAML::Node address =
      require(node["address"], address_key);  // a copy: node[] is a temporary
  // One HOST:PORT, or a list of them: the realm's processes (holder and standbys).
  std::vector<Endpoint> addresses;
  if (address.IsSequence()) {
    if (address.size() == 0) {
      throw ConfigError(address_key, address_key + ": expected at least one HOST:PORT");
    }
    for (std::size_t i = 0; i < address.size(); ++i) {
      addresses.push_back(parse_endpoint_node(address[i], index_key(address_key, i)));
      if (addresses.back().port == 0) {
        fail_value(index_key(address_key, i), "a dialable port (1-65535)", address[i].Scalar());
      }
    }
  } else {
    addresses.push_back(parse_endpoint_node(address, address_key));
    if (addresses.back().port == 0) {
      fail_value(address_key, "a dialable port (1-65535)", address.Scalar());
    }
  }
  peer.address = addresses.front();
  peer.alternates.assign(addresses.begin() + 1, addresses.end());
  if (const auto autoconnect = node["autoconnect"]) {
    peer.autoconnect = parse_bool(autoconnect, join_key(path, "autoconnect"));
  }
  return peer;
}

SeedUser parse_seed_user(const YAML::Node& node, const std::string& path) {
  check_entry(node, path, user_keys);
  SeedUser user;
  user.username = parse_required(node, path, "username", parse_name);
  // The password is never echoed back: config errors end up in logs.
  const std::string password_key = join_key(path, "password");
  const std::string password = parse_scalar(require(node["password"], password_key), password_key);
  if (!protocol::is_valid_field(password)) {
    throw ConfigError(password_key, password_key + ": expected 1-128 bytes without spaces");
  }
  user.password = password;
  user.nama = parse_required(node, path, "nama", parse_word);
  user.negara = parse_required(node, path, "negara", parse_word);
  return user;
}

LimitsConfig parse_limits(const YAML::Node& node, const std::string& path) {
  LimitsConfig limits;
  if (!is_mapping(node, path)) return limits;
  check_keys(node, path, limits_keys);
  const auto read = [&](std::string_view key, std::size_t& field) {
    if (const auto value = node[std::string(key)])
      field = parse_positive(value, join_key(path, key));
  };
  read("max_line_bytes", limits.max_line_bytes);
  read("max_message_bytes", limits.max_message_bytes);
  read("max_connections", limits.max_connections);
  read("max_pending_replies_bytes", limits.max_pending_replies_bytes);
  read("max_outbox_per_peer", limits.max_outbox_per_peer);
  read("max_frame_bytes", limits.max_frame_bytes);
  const std::size_t frame_needed = min_frame_bytes_for(limits.max_message_bytes);
  if (!node["max_frame_bytes"]) {
    limits.max_frame_bytes = std::max(limits.max_frame_bytes, frame_needed);
  } else if (limits.max_frame_bytes < frame_needed) {
    throw ConfigError(join_key(path, "max_frame_bytes"),
                      join_key(path, "max_frame_bytes") + ": must be at least " +
                          std::to_string(frame_needed) + " for max_message_bytes " +
                          std::to_string(limits.max_message_bytes) +
                          " (a message escapes to up to 6 bytes per byte in a link frame)");
  }
  const auto read_ms = [&](std::string_view key, std::chrono::milliseconds& field) {
    if (const auto value = node[std::string(key)]) {
      const std::string full_key = join_key(path, key);
      const std::size_t ms = parse_count(value, full_key);
      if (ms > max_timer_ms) fail_value(full_key, "at most 86400000 (a day)", value.Scalar());
      field = std::chrono::milliseconds(ms);
    }
  };
  read_ms("unauthenticated_idle_ms", limits.unauthenticated_idle);
  read_ms("partial_request_ms", limits.partial_request);
  return limits;
}

// Config enums by name.
constexpr std::pair<std::string_view, Durability> durabilities[] = {
    {"process", Durability::process}, {"fsync", Durability::fsync}};
constexpr std::pair<std::string_view, PasswordCost> password_costs[] = {
    {"interactive", PasswordCost::interactive}, {"min", PasswordCost::min}};
constexpr std::pair<std::string_view, ReaderPriority> reader_priorities[] = {
    {"adaptive", ReaderPriority::adaptive},
    {"background", ReaderPriority::background},
    {"normal", ReaderPriority::normal}};

// The value of one of `choices` (pairs of name and value) that `node` names; the error lists
// the names ("a or b", "a, b or c").
template <typename Choices>
auto parse_choice(const YAML::Node& node, const std::string& key, const Choices& choices) {
  const std::string text = parse_scalar(node, key);
  std::string expected;
  const std::size_t count = std::size(choices);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& [name, value] = choices[i];
    if (text == name) return value;
    if (i > 0) expected += i + 1 == count ? " or " : ", ";
    expected += name;
  }
  fail_value(key, expected, text);
}

HistoryConfig parse_history(const YAML::Node& node, const std::string& path) {
  HistoryConfig history;
  if (!is_mapping(node, path)) return history;
  check_keys(node, path, history_keys);
  if (const auto days = node["max_age_days"]) {
    const std::string key = join_key(path, "max_age_days");
    const std::size_t value = parse_count(days, key);
    if (value > 36500) fail_value(key, "0 (keep) to 36500 days", days.Scalar());
    history.max_age_days = static_cast<std::uint32_t>(value);
  }
  if (const auto count = node["max_per_conversation"]) {
    history.max_per_conversation = parse_count(count, join_key(path, "max_per_conversation"));
  }
  if (const auto threads = node["reader_threads"]) {
    const std::string key = join_key(path, "reader_threads");
    history.reader_threads = parse_positive(threads, key);
    if (history.reader_threads > 64) fail_value(key, "1 to 64", threads.Scalar());
  }
  if (const auto priority = node["reader_priority"]) {
    history.reader_priority =
        parse_choice(priority, join_key(path, "reader_priority"), reader_priorities);
  }
  if (const auto percent = node["cpu_percent_while_writing"]) {
    const std::string key = join_key(path, "cpu_percent_while_writing");
    const std::size_t value = parse_positive(percent, key);
    if (value > 100) fail_value(key, "1 to 100", percent.Scalar());
    history.cpu_percent_while_writing = static_cast<unsigned>(value);
  }
  if (const auto interval = node["prune_interval_ms"]) {
    const std::string key = join_key(path, "prune_interval_ms");
    const std::size_t ms = parse_positive(interval, key);
    if (ms > max_timer_ms) fail_value(key, "at most 86400000 (a day)", interval.Scalar());
    history.prune_interval = std::chrono::milliseconds(ms);
  }
  return history;
}

std::filesystem::path parse_path(const YAML::Node& node, const std::string& key) {
  const std::string text = parse_scalar(node, key);
  if (text.empty()) fail_value(key, "a file path", text);
  return text;  // relative paths stay relative: resolved against the cwd, like data_dir
}

// The `tls:` section. The files are read when realmd starts (a missing or bad one stops it).
std::optional<TlsConfig> parse_tls(const YAML::Node& node, const std::string& path) {
  if (!is_mapping(node, path)) return std::nullopt;
  check_keys(node, path, tls_keys);
  TlsConfig tls;
  tls.certificate = parse_required(node, path, "certificate", parse_path);
  tls.key = parse_required(node, path, "key", parse_path);
  if (const auto ca = node["ca"]) tls.ca = parse_path(ca, join_key(path, "ca"));
  if (const auto clients = node["clients"])
    tls.clients = parse_bool(clients, join_key(path, "clients"));
  if (const auto peers = node["peers"]) tls.peers = parse_bool(peers, join_key(path, "peers"));
  if (tls.peers && tls.ca.empty()) {
    throw ConfigError(
        join_key(path, "ca"),
        join_key(path, "ca") + ": required when tls.peers is true (peers are verified against it)");
  }
  if (!tls.clients && !tls.peers) {
    throw ConfigError(path,
                      path + ": clients and peers are both false (leave the section out instead)");
  }
  return tls;
}

// The `store:` section. The URL is not echoed in errors: it may carry a password.
std::optional<StoreConfig> parse_store(const YAML::Node& node, const std::string& path) {
  if (!is_mapping(node, path)) return std::nullopt;
  check_keys(node, path, store_keys);
  StoreConfig store;
  const std::string url_key = join_key(path, "url");
  store.url = parse_required(node, path, "url", parse_scalar);
  if (!store.url.starts_with("postgresql://") && !store.url.starts_with("postgres://")) {
    throw ConfigError(url_key, url_key + ": expected a PostgreSQL URI (postgresql://...)");
  }
  if (const auto lease = node["lease_ms"]) {
    const std::string key = join_key(path, "lease_ms");
    const std::size_t ms = parse_positive(lease, key);
    if (ms < 300 || ms > max_timer_ms) fail_value(key, "300 to 86400000", lease.Scalar());
    store.lease = std::chrono::milliseconds(ms);
  }
  return store;
}

// The `realm:` section fills the realm's own identity and listeners.
void parse_realm_section(const YAML::Node& node, RealmConfig& config) {
  if (!is_mapping(node, "realm")) throw ConfigError("realm.name", "missing key 'realm.name'");
  check_keys(node, "realm", realm_keys);
  config.name = parse_required(node, "realm", "name", parse_name);
  if (const auto listen = node["listen"])
    config.listen = parse_endpoint_node(listen, "realm.listen");
  if (const auto peer_listen = node["peer_listen"]) {
    config.peer_listen = parse_endpoint_node(peer_listen, "realm.peer_listen");
  }
  if (const auto web_listen = node["web_listen"]) {
    config.web_listen = parse_endpoint_node(web_listen, "realm.web_listen");
  }
  if (const auto admin_listen = node["admin_listen"]) {
    config.admin_listen = parse_endpoint_node(admin_listen, "realm.admin_listen");
  }
  if (const auto origins = node["web_origins"]; origins && is_list(origins, "realm.web_origins")) {
    for (std::size_t i = 0; i < origins.size(); ++i) {
      const std::string key = "realm.web_origins[" + std::to_string(i) + "]";
      std::string origin = parse_scalar(origins[i], key);
      const auto scheme_end = origin.find("://");
      const bool valid = (origin.starts_with("http://") || origin.starts_with("https://")) &&
                         origin.size() > scheme_end + 3 &&
                         origin.find('/', scheme_end + 3) == std::string::npos;
      if (!valid) fail_value(key, "an origin like https://chat.example.org[:port]", origin);
      config.web_origins.push_back(std::move(origin));
    }
  }
  if (const auto data_dir = node["data_dir"]) {
    const std::string text = parse_scalar(data_dir, "realm.data_dir");
    if (text.empty()) fail_value("realm.data_dir", "a directory path", text);
    config.data_dir = text;  // relative paths stay relative: resolved against the cwd
  }
}

// The `federation:` section: the shared secret, the link keepalive and routing.
void parse_federation(const YAML::Node& node, const std::string& path, RealmConfig& config) {
  if (!is_mapping(node, path)) return;
  check_keys(node, path, federation_keys);
  if (const auto relay = node["relay"]) config.relay = parse_bool(relay, join_key(path, "relay"));
  if (const auto reachable = node["reachable_via_relays"]) {
    config.reachable_via_relays = parse_bool(reachable, join_key(path, "reachable_via_relays"));
  }
  if (const auto keys = node["keys"]; keys && is_mapping(keys, join_key(path, "keys"))) {
    for (const auto& entry : keys) {
      const std::string realm = parse_scalar(entry.first, join_key(path, "keys"));
      const std::string key = join_key(join_key(path, "keys"), realm);
      const std::string hex = parse_scalar(entry.second, key);
      const bool valid = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
                           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                         });
      if (!valid) fail_value(key, "an Ed25519 public key (64 lowercase hex digits)", hex);
      config.pinned_keys[realm] = hex;
    }
  }
  if (const auto secret = node["secret"])
    config.secret = parse_scalar(secret, join_key(path, "secret"));
  if (const auto keepalive = node["keepalive_ms"]) {
    const std::string key = join_key(path, "keepalive_ms");
    const std::size_t ms = parse_positive(keepalive, key);
    if (ms > max_timer_ms) fail_value(key, "at most 86400000 (a day)", keepalive.Scalar());
    config.keepalive = std::chrono::milliseconds(ms);
  }
}

// A list (absent or empty: none) whose entries, each read by `parse`, have distinct names:
// `name_of` gives an entry's name, found under `name_key` in the entry ("": the entry is the
// name); `what` names an entry in the error.
template <typename Parse, typename NameOf>
auto parse_unique_list(const YAML::Node& node, const std::string& path, Parse parse, NameOf name_of,
                       std::string_view name_key, std::string_view what) {
  std::vector<decltype(parse(node, path))> entries;
  if (!is_list(node, path)) return entries;
  std::set<std::string> names;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string key = index_key(path, i);
    auto entry = parse(node[i], key);
    if (!names.insert(name_of(entry)).second) {
      const std::string name_at = name_key.empty() ? key : join_key(key, name_key);
      throw ConfigError(name_at,
                        name_at + ": duplicate " + std::string(what) + " '" + name_of(entry) + "'");
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<PeerConfig> parse_peers(const YAML::Node& node, const std::string& path,
                                    const std::string& realm_name) {
  const auto parse = [&](const YAML::Node& entry, const std::string& key) {
    PeerConfig peer = parse_peer(entry, key);
    if (peer.name == realm_name) {
      throw ConfigError(key + ".name", key + ".name: '" + peer.name + "' is this realm's own name");
    }
    return peer;
  };
  return parse_unique_list(
      node, path, parse, [](const PeerConfig& peer) { return peer.name; }, "name", "peer");
}

std::vector<std::string> parse_admins(const YAML::Node& node, const std::string& path) {
  return parse_unique_list(
      node, path, parse_name, [](const std::string& admin) { return admin; }, "", "admin");
}

std::vector<SeedUser> parse_users(const YAML::Node& node, const std::string& path) {
  return parse_unique_list(
      node, path, parse_seed_user, [](const SeedUser& user) { return user.username; }, "username",
      "user");
}

// Limits that must agree: a client line must hold a send of the longest message. (A link
// frame must hold it too: parse_limits checks or derives max_frame_bytes.)
void check_limits_together(const LimitsConfig& limits) {
  const std::size_t needed = limits.max_message_bytes + send_line_overhead;
  if (limits.max_line_bytes < needed) {
    throw ConfigError("limits.max_line_bytes",
                      "limits.max_line_bytes: " + std::to_string(limits.max_line_bytes) +
                          " cannot hold a send of limits.max_message_bytes (" +
                          std::to_string(limits.max_message_bytes) + "): needs at least " +
                          std::to_string(needed));
  }
}

RealmConfig parse_realm_config(const YAML::Node& root) {
  // An empty document lacks the one required key.
  if (!root || root.IsNull()) throw ConfigError("realm.name", "missing key 'realm.name'");
  if (!root.IsMap()) {
    throw ConfigError(std::string("expected a mapping at the top level, got ") + kind_of(root));
  }
  RealmConfig config;
  check_keys(root, "", top_keys);
  parse_realm_section(root["realm"], config);
  parse_federation(root["federation"], "federation", config);
  config.peers = parse_peers(root["peers"], "peers", config.name);
  if (!config.peers.empty() && config.secret.empty()) {
    throw ConfigError("federation.secret",
                      "federation.secret: required (non-empty) when peers are listed");
  }
  config.tls = parse_tls(root["tls"], "tls");
  config.admins = parse_admins(root["admins"], "admins");
  config.users = parse_users(root["users"], "users");
  // An admin that is not a configured user could be taken by whoever registers the name first.
  for (std::size_t i = 0; i < config.admins.size(); ++i) {
    const std::string& admin = config.admins[i];
    const bool seeded = std::any_of(config.users.begin(), config.users.end(),
                                    [&](const SeedUser& user) { return user.username == admin; });
    if (!seeded) {
      throw ConfigError(
          index_key("admins", i),
          "admins: '" + admin + "' is not a user listed under 'users' (anyone could register it)");
    }
  }
  config.limits = parse_limits(root["limits"], "limits");
  check_limits_together(config.limits);
  config.history = parse_history(root["history"], "history");
  if (const auto durability = root["durability"]) {
    config.durability = parse_choice(durability, "durability", durabilities);
  }
  config.store = parse_store(root["store"], "store");
  if (const auto cost = root["password_cost"]) {
    config.password_cost = parse_choice(cost, "password_cost", password_costs);
  }
  return config;
}

ConfigError syntax_error(const YAML::ParserException& error) {
  // yaml-cpp's marks count from 0; editors count from 1.
  return ConfigError("YAML syntax error at line " + std::to_string(error.mark.line + 1) +
                     ", column " + std::to_string(error.mark.column + 1) + ": " + error.msg);
}

// Where `key_path` ("peers[1].address") is written: its key's place (for a list item, the
// item's), the last one for a key written twice; for a key that is missing, the place of the
// deepest part that is there.
YAML::Mark locate(const YAML::Node& node, std::string_view key_path) {
  if (key_path.empty() || !node) return node.Mark();
  if (key_path.front() == '[') {
    const std::size_t close = key_path.find(']');
    std::size_t index = 0;
    std::from_chars(key_path.data() + 1, key_path.data() + close, index);
    std::string_view rest = key_path.substr(close + 1);
    if (rest.starts_with('.')) rest.remove_prefix(1);
    if (!node.IsSequence() || index >= node.size()) return node.Mark();
    const YAML::Node item = node[index];
    return rest.empty() ? item.Mark() : locate(item, rest);
  }
  const std::size_t end = key_path.find_first_of(".[");
  const std::string_view name = key_path.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? "" : key_path.substr(end);
  if (rest.starts_with('.')) rest.remove_prefix(1);
  if (!node.IsMap()) return node.Mark();
  std::optional<std::pair<YAML::Node, YAML::Node>> found;
  for (const auto& entry : node) {
    if (entry.first.IsScalar() && entry.first.Scalar() == name)
      found.emplace(entry.first, entry.second);
  }
  if (!found) return node.Mark();
  return rest.empty() ? found->first.Mark() : locate(found->second, rest);
}

// "FILE:LINE:COLUMN: " (as compilers and editors write places), or "FILE: " without a place.
std::string place(const std::filesystem::path& file, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return file.string() + ": ";
  return file.string() + ":" + std::to_string(mark.line + 1) + ":" +
         std::to_string(mark.column + 1) + ": ";
}

// The whole file, or a ConfigError with the system's reason (missing, a directory, no
// permission...).
std::string read_config_file(const std::filesystem::path& file) {
  const auto fail = [&file](int error) -> ConfigError {
    return ConfigError(file.string() + ": cannot read the config file: " + std::strerror(error));
  };
  std::FILE* stream = std::fopen(file.c_str(), "rb");
  if (stream == nullptr) throw fail(errno);
  std::string text;
  char chunk[8192];
  std::size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, stream)) > 0) text.append(chunk, n);
  const int error = std::ferror(stream) ? errno : 0;  // e.g. EISDIR for a directory
  std::fclose(stream);
  if (error != 0) throw fail(error);
  return text;
}

}  // namespace

Endpoint parse_endpoint(const std::string& text, const std::string& key) {
  constexpr std::string_view expected_form = "HOST:PORT";
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) fail_value(key, expected_form, text);
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  // An IPv6 literal is bracketed ([::1]:8889) so its own colons are not taken for the port's.
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    fail_value(key, "HOST:PORT with an IPv6 host in brackets", text);
  }
  const bool host_valid = !host.empty() && std::none_of(host.begin(), host.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= ' ' || byte == 0x7f || c == '[' || c == ']';
  });
  if (!host_valid) fail_value(key, expected_form, text);
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port > std::numeric_limits<std::uint16_t>::max()) {
    fail_value(key, "a port 0-65535 in HOST:PORT", text);
  }
  return Endpoint{host, static_cast<std::uint16_t>(port)};
}

RealmConfig load_config_text(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& error) {
    throw syntax_error(error);
  }
  return parse_realm_config(root);
}

std::vector<std::string> accepted_config_keys() {
  std::vector<std::string> keys;
  const auto add = [&keys](std::string_view prefix, KeyList names) {
    for (const std::string_view name : names)
      keys.push_back(std::string(prefix) + std::string(name));
  };
  add("", top_keys);
  add("realm.", realm_keys);
  add("federation.", federation_keys);
  add("peers[].", peer_keys);
  add("users[].", user_keys);
  add("limits.", limits_keys);
  add("tls.", tls_keys);
  add("store.", store_keys);
  add("history.", history_keys);
  return keys;
}

RealmConfig load_config_file(const std::filesystem::path& file) {
  // Errors from a file say which file and where in it, since realmd may be given any of
  // several: "FILE:LINE:COLUMN: KEY: what is wrong".
  const std::string text = read_config_file(file);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& error) {
    throw ConfigError(place(file, error.mark) + "YAML syntax error: " + error.msg);
  }
  try {
    return parse_realm_config(root);
  } catch (const ConfigError& error) {
    throw ConfigError(error.key, place(file, locate(root, error.key)) + error.what());
  }
}

}  // namespace chat::config
