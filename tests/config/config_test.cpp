#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/realm_config.hpp"

using chat::config::ConfigError;
using chat::config::Durability;
using chat::config::load_config_file;
using chat::config::load_config_text;
using chat::config::parse_endpoint;
using chat::config::PasswordCost;
using chat::config::RealmConfig;

namespace {

// The what() of the ConfigError that loading `yaml` throws ("" if it loads).
std::string error_of(const std::string& yaml) {
  try {
    load_config_text(yaml);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

std::filesystem::path source_dir() {
  const char* dir = std::getenv("REALMCHAT_SOURCE");
  return dir != nullptr ? dir : REALMCHAT_SOURCE_DIR;
}

// A file removed when the test ends.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& text)
      : path(std::filesystem::temp_directory_path() /
             ("unit_config_" + std::to_string(::getpid()) + ".yaml")) {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

const char* const full_config = R"(
realm:
  name: alpha
  listen: 0.0.0.0:7001
  peer_listen: '[::1]:7002'
  web_listen: 127.0.0.1:8080
  data_dir: /var/lib/realm-alpha
federation:
  secret: s3cret-s3cret
  keepalive_ms: 1500
peers:
  - name: beta
    address: beta.example.org:9890
    autoconnect: false
  - {name: gamma.eu, address: 10.0.0.3:9891}
admins: [messi, lineker]
users:
  - {username: messi, password: surabaya, nama: Lionel_Messi, negara: Argentina}
  - {username: jokowi, password: 123, nama: joko_widodo, negara: indonesia}
  - {username: lineker, password: pw, nama: Gary_Lineker, negara: Inggris}
limits:
  max_line_bytes: 1000
  max_message_bytes: 300
  max_connections: 7
  max_pending_replies_bytes: 4096
  max_outbox_per_peer: 3
  max_frame_bytes: 2312
  unauthenticated_idle_ms: 0
  partial_request_ms: 2500
tls:
  certificate: certs/alpha.crt
  key: /etc/realm/alpha.key
  ca: certs/ca.crt
  clients: false
durability: fsync
password_cost: min
)";

}  // namespace

TEST_CASE("a full config fills every field") {
  const RealmConfig config = load_config_text(full_config);
  CHECK(config.name == "alpha");
  CHECK(config.listen.host == "0.0.0.0");
  CHECK(config.listen.port == 7001);
  CHECK(config.peer_listen.host == "::1");
  CHECK(config.peer_listen.port == 7002);
  REQUIRE(config.web_listen.has_value());
  CHECK(config.web_listen->host == "127.0.0.1");
  CHECK(config.web_listen->port == 8080);
  CHECK(config.data_dir == std::filesystem::path("/var/lib/realm-alpha"));
  CHECK(config.secret == "s3cret-s3cret");
  CHECK(config.keepalive == std::chrono::milliseconds(1500));
  REQUIRE(config.peers.size() == 2);
  CHECK(config.peers[0].name == "beta");
  CHECK(config.peers[0].address.host == "beta.example.org");
  CHECK(config.peers[0].address.port == 9890);
  CHECK_FALSE(config.peers[0].autoconnect);
  CHECK(config.peers[1].name == "gamma.eu");
  CHECK(config.peers[1].address.host == "10.0.0.3");
  CHECK(config.peers[1].address.port == 9891);
  CHECK(config.peers[1].autoconnect);
  CHECK(config.admins == std::vector<std::string>{"messi", "lineker"});
  REQUIRE(config.users.size() == 3);
  CHECK(config.users[0].username == "messi");
  CHECK(config.users[0].password == "surabaya");
  CHECK(config.users[0].nama == "Lionel_Messi");
  CHECK(config.users[0].negara == "Argentina");
  CHECK(config.users[1].username == "jokowi");
  CHECK(config.users[1].password == "123");
  CHECK(config.users[1].nama == "joko_widodo");
  CHECK(config.users[1].negara == "indonesia");
  CHECK(config.limits.max_line_bytes == 1000);
  CHECK(config.limits.max_message_bytes == 300);
  CHECK(config.limits.max_connections == 7);
  CHECK(config.limits.max_pending_replies_bytes == 4096);
  CHECK(config.limits.max_outbox_per_peer == 3);
  CHECK(config.limits.max_frame_bytes == 2312);
  CHECK(config.limits.unauthenticated_idle == std::chrono::milliseconds(0));
  CHECK(config.limits.partial_request == std::chrono::milliseconds(2500));
  REQUIRE(config.tls.has_value());
  CHECK(config.tls->certificate == std::filesystem::path("certs/alpha.crt"));
  CHECK(config.tls->key == std::filesystem::path("/etc/realm/alpha.key"));
  CHECK(config.tls->ca == std::filesystem::path("certs/ca.crt"));
  CHECK_FALSE(config.tls->clients);
  CHECK(config.tls->peers);
  CHECK(config.durability == Durability::fsync);
  CHECK(config.password_cost == PasswordCost::min);
}

TEST_CASE("absent keys take the header's defaults") {
  const RealmConfig config = load_config_text("realm: {name: solo}\n");
  const RealmConfig defaults;
  CHECK(config.name == "solo");
  CHECK(config.listen.host == defaults.listen.host);
  CHECK(config.listen.port == defaults.listen.port);
  CHECK(config.peer_listen.host == defaults.peer_listen.host);
  CHECK(config.peer_listen.port == defaults.peer_listen.port);
  CHECK_FALSE(config.web_listen.has_value());  // no web client unless asked for
  CHECK(config.data_dir == defaults.data_dir);
  CHECK(config.secret.empty());
  CHECK(config.keepalive == std::chrono::milliseconds(5000));
  CHECK(config.keepalive == defaults.keepalive);
  CHECK(config.peers.empty());
  CHECK(config.admins.empty());
  CHECK(config.users.empty());
  CHECK(config.limits.max_line_bytes == defaults.limits.max_line_bytes);
  CHECK(config.limits.max_message_bytes == defaults.limits.max_message_bytes);
  CHECK(config.limits.max_connections == defaults.limits.max_connections);
  CHECK(config.limits.max_pending_replies_bytes == defaults.limits.max_pending_replies_bytes);
  CHECK(config.limits.unauthenticated_idle == std::chrono::milliseconds(60'000));
  CHECK(config.limits.partial_request == std::chrono::milliseconds(30'000));
  CHECK_FALSE(config.tls.has_value());  // plain TCP unless asked for
  CHECK(config.limits.max_outbox_per_peer == defaults.limits.max_outbox_per_peer);
  CHECK(config.limits.max_frame_bytes == defaults.limits.max_frame_bytes);
  CHECK(config.durability == Durability::process);
  CHECK(config.password_cost == PasswordCost::interactive);
}

TEST_CASE("empty sections are the same as absent ones") {
  const RealmConfig config =
      load_config_text("realm: {name: solo}\nfederation:\npeers:\nadmins: []\nusers:\nlimits:\n");
  CHECK(config.peers.empty());
  CHECK(config.admins.empty());
  CHECK(config.users.empty());
  CHECK(config.limits.max_line_bytes == 64 * 1024);
}

TEST_CASE("a relative data_dir is kept as written, relative to the working directory") {
  CHECK(load_config_text("realm: {name: a, data_dir: run/data/a}").data_dir ==
        std::filesystem::path("run/data/a"));
}

TEST_CASE("unknown keys are named with their full path") {
  CHECK(error_of("realm: {name: a}\nlimit: {}\n") == "unknown key 'limit'");
  CHECK(error_of("realm:\n  name: a\n  lisen: 127.0.0.1:1\n") == "unknown key 'realm.lisen'");
  CHECK(error_of("realm: {name: a}\nlimits: {max_lines: 3}\n") == "unknown key 'limits.max_lines'");
  CHECK(error_of("realm: {name: a}\nfederation: {secret: x, secert: y}\n") ==
        "unknown key 'federation.secert'");
  CHECK(error_of("realm: {name: a}\nfederation: {secret: x}\n"
                 "peers:\n  - {name: b, address: h:1}\n  - {name: c, adress: h:2}\n") ==
        "unknown key 'peers[1].adress'");
  CHECK(error_of("realm: {name: a}\nusers:\n  - {username: u, password: p, nama: n, negara: "
                 "x, email: e}\n") == "unknown key 'users[0].email'");
}

TEST_CASE("a repeated key is an error, not a silent override") {
  CHECK(error_of("realm:\n  name: a\n  name: b\n") == "duplicate key 'realm.name'");
}

TEST_CASE("missing required keys are named") {
  CHECK(error_of("") == "missing key 'realm.name'");
  CHECK(error_of("durability: fsync\n") == "missing key 'realm.name'");
  CHECK(error_of("realm: {listen: 127.0.0.1:1}\n") == "missing key 'realm.name'");
  CHECK(error_of("realm: {name: a}\nfederation: {secret: x}\npeers: [{name: b}]\n") ==
        "missing key 'peers[0].address'");
  CHECK(error_of("realm: {name: a}\nusers: [{username: u, password: p, nama: n}]\n") ==
        "missing key 'users[0].negara'");
}

TEST_CASE("sections of the wrong shape are named") {
  CHECK(error_of("- realm\n") == "expected a mapping at the top level, got a list");
  CHECK(error_of("realm: alpha\n") == "realm: expected a mapping, got a scalar");
  CHECK(error_of("realm: {name: a}\npeers: {name: b}\n") ==
        "peers: expected a list, got a mapping");
  CHECK(error_of("realm: {name: [a]}\n") == "realm.name: expected a value, got a list");
}

TEST_CASE("bad names are named with the key and the value") {
  CHECK(error_of("realm: {name: 'al pha'}\n") ==
        "realm.name: expected 1-32 characters of A-Z a-z 0-9 _ . -, got 'al pha'");
  CHECK(error_of("realm: {name: ''}\n") ==
        "realm.name: expected 1-32 characters of A-Z a-z 0-9 _ . -, got ''");
  CHECK(error_of("realm: {name: " + std::string(33, 'a') + "}\n") ==
        "realm.name: expected 1-32 characters of A-Z a-z 0-9 _ . -, got '" + std::string(33, 'a') +
            "'");
  CHECK(error_of("realm: {name: " + std::string(32, 'a') + "}\n").empty());
  CHECK(error_of("realm: {name: a}\nadmins: [ok, 'm@ssi']\n") ==
        "admins[1]: expected 1-32 characters of A-Z a-z 0-9 _ . -, got 'm@ssi'");
  CHECK(
      error_of("realm: {name: a}\nfederation: {secret: x}\npeers: [{name: b/c, address: h:1}]\n") ==
      "peers[0].name: expected 1-32 characters of A-Z a-z 0-9 _ . -, got 'b/c'");
  CHECK(
      error_of("realm: {name: a}\nusers: [{username: 'x y', password: p, nama: n, negara: i}]\n") ==
      "users[0].username: expected 1-32 characters of A-Z a-z 0-9 _ . -, got 'x y'");
}

TEST_CASE("seed user words: 1-128 bytes without spaces; the password is never echoed") {
  CHECK(error_of("realm: {name: a}\nusers: [{username: u, password: p, nama: 'Joko Widodo', "
                 "negara: i}]\n") ==
        "users[0].nama: expected 1-128 bytes without spaces, got 'Joko Widodo'");
  CHECK(error_of("realm: {name: a}\nusers: [{username: u, password: p, nama: n, negara: " +
                 std::string(129, 'x') + "}]\n") ==
        "users[0].negara: expected 1-128 bytes without spaces, got '" + std::string(129, 'x') +
            "'");
  CHECK(error_of("realm: {name: a}\nusers: [{username: u, password: 'top secret', nama: n, "
                 "negara: i}]\n") == "users[0].password: expected 1-128 bytes without spaces");
  CHECK(error_of("realm: {name: a}\nusers: [{username: u, password: '', nama: n, negara: i}]\n") ==
        "users[0].password: expected 1-128 bytes without spaces");
}

TEST_CASE("bad endpoints and ports are named with the key and the value") {
  CHECK(error_of("realm: {name: a, listen: localhost}\n") ==
        "realm.listen: expected HOST:PORT, got 'localhost'");
  CHECK(error_of("realm: {name: a, listen: ':8889'}\n") ==
        "realm.listen: expected HOST:PORT, got ':8889'");
  CHECK(error_of("realm: {name: a, listen: '127.0.0.1:65536'}\n") ==
        "realm.listen: expected a port 0-65535 in HOST:PORT, got '127.0.0.1:65536'");
  CHECK(error_of("realm: {name: a, peer_listen: '127.0.0.1:-1'}\n") ==
        "realm.peer_listen: expected a port 0-65535 in HOST:PORT, got '127.0.0.1:-1'");
  CHECK(error_of("realm: {name: a, peer_listen: '127.0.0.1:'}\n") ==
        "realm.peer_listen: expected a port 0-65535 in HOST:PORT, got '127.0.0.1:'");
  CHECK(error_of("realm: {name: a, web_listen: 8080}\n") ==
        "realm.web_listen: expected HOST:PORT, got '8080'");
  CHECK(error_of("realm: {name: a, web_listen: [127.0.0.1, 8080]}\n") ==
        "realm.web_listen: expected a value, got a list");
  CHECK(error_of("realm: {name: a, listen: '::1:8889'}\n") ==
        "realm.listen: expected HOST:PORT with an IPv6 host in brackets, got '::1:8889'");
  CHECK(error_of("realm: {name: a}\nfederation: {secret: x}\npeers: [{name: b, address: h:0}]\n") ==
        "peers[0].address: expected a dialable port (1-65535), got 'h:0'");
}

TEST_CASE("parse_endpoint") {
  const auto any_port = parse_endpoint("127.0.0.1:0", "k");
  CHECK(any_port.host == "127.0.0.1");
  CHECK(any_port.port == 0);
  const auto top = parse_endpoint("example.org:65535", "k");
  CHECK(top.host == "example.org");
  CHECK(top.port == 65535);
  const auto v6 = parse_endpoint("[::1]:8889", "k");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 8889);
  CHECK_THROWS_WITH_AS(parse_endpoint("127.0.0.1:80x", "the.key"),
                       "the.key: expected a port 0-65535 in HOST:PORT, got '127.0.0.1:80x'",
                       ConfigError);
  CHECK_THROWS_WITH_AS(parse_endpoint("[]:1", "k"), "k: expected HOST:PORT, got '[]:1'",
                       ConfigError);
}

TEST_CASE("bad limits, enums and booleans are named with the key and the value") {
  CHECK(error_of("realm: {name: a}\nlimits: {max_connections: -5}\n") ==
        "limits.max_connections: expected a positive integer, got '-5'");
  CHECK(error_of("realm: {name: a}\nlimits: {max_line_bytes: 0}\n") ==
        "limits.max_line_bytes: expected a positive integer, got '0'");
  CHECK(error_of("realm: {name: a}\nlimits: {max_frame_bytes: 1.5}\n") ==
        "limits.max_frame_bytes: expected a positive integer, got '1.5'");
  CHECK(error_of("realm: {name: a}\nlimits: {max_outbox_per_peer: 99999999999999999999999}\n") ==
        "limits.max_outbox_per_peer: expected a positive integer, got '99999999999999999999999'");
  CHECK(error_of("realm: {name: a}\ndurability: always\n") ==
        "durability: expected process or fsync, got 'always'");
  CHECK(error_of("realm: {name: a}\npassword_cost: max\n") ==
        "password_cost: expected interactive or min, got 'max'");
  CHECK(error_of("realm: {name: a}\nfederation: {secret: x}\n"
                 "peers: [{name: b, address: h:1, autoconnect: sometimes}]\n") ==
        "peers[0].autoconnect: expected true or false, got 'sometimes'");
}

TEST_CASE("federation routing keys: relay, reachable_via_relays, keys") {
  const auto defaults = load_config_text("realm: {name: a}\n");
  CHECK(defaults.relay);
  CHECK(defaults.reachable_via_relays);
  CHECK(defaults.pinned_keys.empty());
  const std::string key(64, 'e');
  const auto config = load_config_text(
      "realm: {name: a}\nfederation: {relay: false, reachable_via_relays: false, keys: {b: " + key +
      "}}\n");
  CHECK_FALSE(config.relay);
  CHECK_FALSE(config.reachable_via_relays);
  CHECK(config.pinned_keys == std::map<std::string, std::string>{{"b", key}});
  CHECK(error_of("realm: {name: a}\nfederation: {keys: {b: xyz}}\n") ==
        "federation.keys.b: expected an Ed25519 public key (64 lowercase hex digits), got 'xyz'");
  CHECK(error_of("realm: {name: a}\nfederation: {relay: sometimes}\n") ==
        "federation.relay: expected true or false, got 'sometimes'");
}

TEST_CASE("federation.keepalive_ms: a positive number of milliseconds up to a day") {
  CHECK(load_config_text("realm: {name: a}\nfederation: {keepalive_ms: 200}\n").keepalive ==
        std::chrono::milliseconds(200));
  CHECK(error_of("realm: {name: a}\nfederation: {keepalive_ms: 0}\n") ==
        "federation.keepalive_ms: expected a positive integer, got '0'");
  CHECK(error_of("realm: {name: a}\nfederation: {keepalive_ms: 5s}\n") ==
        "federation.keepalive_ms: expected a positive integer, got '5s'");
  CHECK(error_of("realm: {name: a}\nfederation: {keepalive_ms: 86400001}\n") ==
        "federation.keepalive_ms: expected at most 86400000 (a day), got '86400001'");
  CHECK(error_of("realm: {name: a}\nfederation: {keepalive: 5}\n") ==
        "unknown key 'federation.keepalive'");
}

TEST_CASE("limits: time limits in milliseconds, zero for none, up to a day") {
  CHECK(load_config_text("realm: {name: a}\nlimits: {unauthenticated_idle_ms: 0}\n")
            .limits.unauthenticated_idle == std::chrono::milliseconds(0));
  CHECK(error_of("realm: {name: a}\nlimits: {partial_request_ms: -1}\n") ==
        "limits.partial_request_ms: expected a non-negative integer, got '-1'");
  CHECK(error_of("realm: {name: a}\nlimits: {unauthenticated_idle_ms: 86400001}\n") ==
        "limits.unauthenticated_idle_ms: expected at most 86400000 (a day), got '86400001'");
}

TEST_CASE("peers: address may be a list (the peer's holder and standbys)") {
  const RealmConfig config = load_config_text(
      "realm: {name: a}\nfederation: {secret: s}\n"
      "peers: [{name: b, address: ['127.0.0.1:9890', 'b2.example.org:9990']}, "
      "{name: c, address: '127.0.0.1:9891'}]\n");
  REQUIRE(config.peers.size() == 2);
  CHECK(config.peers[0].address.port == 9890);
  REQUIRE(config.peers[0].alternates.size() == 1);
  CHECK(config.peers[0].alternates[0].host == "b2.example.org");
  CHECK(config.peers[0].alternates[0].port == 9990);
  CHECK(config.peers[1].alternates.empty());
  CHECK(error_of("realm: {name: a}\nfederation: {secret: s}\npeers: [{name: b, address: []}]\n") ==
        "peers[0].address: expected at least one HOST:PORT");
  CHECK(error_of("realm: {name: a}\nfederation: {secret: s}\n"
                 "peers: [{name: b, address: ['h:1', 'h:0']}]\n") ==
        "peers[0].address[1]: expected a dialable port (1-65535), got 'h:0'");
}

TEST_CASE("store: a PostgreSQL URI (never echoed) and a lease of 300 ms to a day") {
  CHECK_FALSE(load_config_text("realm: {name: a}\n").store.has_value());
  const RealmConfig pg = load_config_text(
      "realm: {name: a}\nstore: {url: 'postgresql:///realmchat?host=/tmp', lease_ms: 1500}\n");
  REQUIRE(pg.store.has_value());
  CHECK(pg.store->url == "postgresql:///realmchat?host=/tmp");
  CHECK(pg.store->lease == std::chrono::milliseconds(1500));
  CHECK(load_config_text("realm: {name: a}\nstore: {url: 'postgres://h/db'}\n").store->lease ==
        std::chrono::milliseconds(3000));
  CHECK(error_of("realm: {name: a}\nstore: {url: 'mysql://root:secret@h/db'}\n") ==
        "store.url: expected a PostgreSQL URI (postgresql://...)");
  CHECK(error_of("realm: {name: a}\nstore: {lease_ms: 1000}\n") == "missing key 'store.url'");
  CHECK(error_of("realm: {name: a}\nstore: {url: 'postgresql://h/db', lease_ms: 100}\n") ==
        "store.lease_ms: expected 300 to 86400000, got '100'");
  CHECK(error_of("realm: {name: a}\nstore: {url: 'postgresql://h/db', pool: 3}\n") ==
        "unknown key 'store.pool'");
}

TEST_CASE("history: retention keys default to keeping everything; values are checked") {
  const RealmConfig defaults = load_config_text("realm: {name: a}\n");
  CHECK(defaults.history.max_age_days == 0);
  CHECK(defaults.history.max_per_conversation == 0);
  CHECK(defaults.history.reader_threads == 2);
  CHECK(defaults.history.reader_priority == chat::config::ReaderPriority::adaptive);
  CHECK(defaults.history.cpu_percent_while_writing == 10);
  CHECK(defaults.history.prune_interval == std::chrono::milliseconds(10'000));
  const RealmConfig set = load_config_text(
      "realm: {name: a}\nhistory: {max_age_days: 90, max_per_conversation: 10000, "
      "reader_threads: 4, reader_priority: normal, cpu_percent_while_writing: 50, "
      "prune_interval_ms: 500}\n");
  CHECK(set.history.max_age_days == 90);
  CHECK(set.history.max_per_conversation == 10000);
  CHECK(set.history.reader_threads == 4);
  CHECK(set.history.reader_priority == chat::config::ReaderPriority::normal);
  CHECK(set.history.cpu_percent_while_writing == 50);
  CHECK(set.history.prune_interval == std::chrono::milliseconds(500));
  CHECK(error_of("realm: {name: a}\nhistory: {max_age_days: 36501}\n") ==
        "history.max_age_days: expected 0 (keep) to 36500 days, got '36501'");
  CHECK(error_of("realm: {name: a}\nhistory: {max_per_conversation: -1}\n") ==
        "history.max_per_conversation: expected a non-negative integer, got '-1'");
  CHECK(error_of("realm: {name: a}\nhistory: {reader_threads: 0}\n") ==
        "history.reader_threads: expected a positive integer, got '0'");
  CHECK(error_of("realm: {name: a}\nhistory: {reader_threads: 65}\n") ==
        "history.reader_threads: expected 1 to 64, got '65'");
  CHECK(error_of("realm: {name: a}\nhistory: {cpu_percent_while_writing: 101}\n") ==
        "history.cpu_percent_while_writing: expected 1 to 100, got '101'");
  CHECK(error_of("realm: {name: a}\nhistory: {cpu_percent_while_writing: 0}\n") ==
        "history.cpu_percent_while_writing: expected a positive integer, got '0'");
  CHECK(error_of("realm: {name: a}\nhistory: {reader_priority: low}\n") ==
        "history.reader_priority: expected adaptive, background or normal, got 'low'");
  CHECK(load_config_text("realm: {name: a}\nhistory: {reader_priority: background}\n")
            .history.reader_priority == chat::config::ReaderPriority::background);
  CHECK(error_of("realm: {name: a}\nhistory: {prune_interval_ms: 86400001}\n") ==
        "history.prune_interval_ms: expected at most 86400000 (a day), got '86400001'");
  CHECK(error_of("realm: {name: a}\nhistory: {max_days: 1}\n") == "unknown key 'history.max_days'");
}

TEST_CASE("tls: certificate and key required, ca required for peers, both on by default") {
  const RealmConfig both =
      load_config_text("realm: {name: a}\ntls: {certificate: a.crt, key: a.key, ca: ca.crt}\n");
  REQUIRE(both.tls.has_value());
  CHECK(both.tls->clients);
  CHECK(both.tls->peers);
  const RealmConfig clients_only =
      load_config_text("realm: {name: a}\ntls: {certificate: a.crt, key: a.key, peers: false}\n");
  REQUIRE(clients_only.tls.has_value());
  CHECK(clients_only.tls->ca.empty());
  CHECK(error_of("realm: {name: a}\ntls: {key: a.key, peers: false}\n") ==
        "missing key 'tls.certificate'");
  CHECK(error_of("realm: {name: a}\ntls: {certificate: a.crt, peers: false}\n") ==
        "missing key 'tls.key'");
  CHECK(error_of("realm: {name: a}\ntls: {certificate: a.crt, key: a.key}\n") ==
        "tls.ca: required when tls.peers is true (peers are verified against it)");
  CHECK(error_of("realm: {name: a}\ntls: {certificate: a.crt, key: a.key, clients: false, "
                 "peers: false}\n") ==
        "tls: clients and peers are both false (leave the section out instead)");
  CHECK(error_of("realm: {name: a}\ntls: {certificate: '', key: a.key, peers: false}\n") ==
        "tls.certificate: expected a file path, got ''");
  CHECK(error_of("realm: {name: a}\ntls: {certificate: a, key: b, verify: no}\n") ==
        "unknown key 'tls.verify'");
}

TEST_CASE("peers: unique, not the realm itself, and only with a secret") {
  CHECK(error_of("realm: {name: a}\nfederation: {secret: x}\n"
                 "peers: [{name: b, address: h:1}, {name: b, address: h:2}]\n") ==
        "peers[1].name: duplicate peer 'b'");
  CHECK(error_of("realm: {name: a}\nfederation: {secret: x}\npeers: [{name: a, address: h:1}]\n") ==
        "peers[0].name: 'a' is this realm's own name");
  CHECK(error_of("realm: {name: a}\npeers: [{name: b, address: h:1}]\n") ==
        "federation.secret: required (non-empty) when peers are listed");
  CHECK(
      error_of("realm: {name: a}\nfederation: {secret: ''}\npeers: [{name: b, address: h:1}]\n") ==
      "federation.secret: required (non-empty) when peers are listed");
}

TEST_CASE("duplicate users and admins are errors") {
  CHECK(error_of("realm: {name: a}\nusers:\n  - {username: u, password: p, nama: n, negara: i}\n"
                 "  - {username: u, password: q, nama: m, negara: j}\n") ==
        "users[1].username: duplicate user 'u'");
  CHECK(error_of("realm: {name: a}\nadmins: [m, m]\n") == "admins[1]: duplicate admin 'm'");
}

TEST_CASE("a YAML syntax error carries yaml-cpp's line and column") {
  CHECK(error_of("realm:\n  name: a\n  listen: [127.0.0.1:1\n") ==
        "YAML syntax error at line 4, column 1: end of sequence flow not found");
  CHECK(error_of("realm: {name: a}\n  bad indent: x\n") ==
        "YAML syntax error at line 2, column 3: end of map not found");
}

TEST_CASE("load_config_file prefixes its errors with the file, line and column") {
  const TempFile bad_key("realm: {name: a, lisen: x}\n");
  CHECK_THROWS_WITH_AS(load_config_file(bad_key.path),
                       (bad_key.path.string() + ":1:18: unknown key 'realm.lisen'").c_str(),
                       ConfigError);
  const TempFile bad_syntax("realm: {name: a\n");
  CHECK_THROWS_WITH_AS(
      load_config_file(bad_syntax.path),
      (bad_syntax.path.string() + ":2:1: YAML syntax error: end of map flow not found").c_str(),
      ConfigError);
}

TEST_CASE("a config error's line and column are the key's place in the file") {
  const auto error_in_file = [](const std::string& yaml) {
    const TempFile file(yaml);
    try {
      load_config_file(file.path);
    } catch (const ConfigError& error) {
      return std::string(error.what()).substr(file.path.string().size());
    }
    return std::string();
  };
  CHECK(error_in_file("realm:\n  name: a\nlimits:\n  max_connections: -5\n") ==
        ":4:3: limits.max_connections: expected a positive integer, got '-5'");
  CHECK(error_in_file("realm:\n  name: a\n  name: b\n") == ":3:3: duplicate key 'realm.name'");
  CHECK(error_in_file("realm: {name: a}\nfederation: {secret: x}\npeers:\n"
                      "  - {name: b, address: h:1}\n  - {name: c}\n") ==
        ":5:5: missing key 'peers[1].address'");
  CHECK(error_in_file("realm: {name: a}\nadmins:\n  - ok\n  - 'm@ssi'\n") ==
        ":4:5: admins[1]: expected 1-32 characters of A-Z a-z 0-9 _ . -, got 'm@ssi'");
  CHECK(error_in_file("- realm\n") == ":1:1: expected a mapping at the top level, got a list");
}

TEST_CASE("a config file that cannot be read says why") {
  const auto missing = std::filesystem::path("/nonexistent/realm.yaml");
  CHECK_THROWS_WITH_AS(load_config_file(missing),
                       "/nonexistent/realm.yaml: cannot read the config file: No such file or "
                       "directory",
                       ConfigError);
  const auto directory = std::filesystem::temp_directory_path();
  CHECK_THROWS_WITH_AS(
      load_config_file(directory),
      (directory.string() + ": cannot read the config file: Is a directory").c_str(), ConfigError);
}

TEST_CASE("limits work together: a client line holds a send of the longest message") {
  CHECK(error_of("realm: {name: a}\nlimits: {max_line_bytes: 600, max_message_bytes: 500}\n") ==
        "limits.max_line_bytes: 600 cannot hold a send of limits.max_message_bytes (500): needs "
        "at least 628");
  CHECK(error_of("realm: {name: a}\nlimits: {max_line_bytes: 628, max_message_bytes: 500}\n")
            .empty());
}

TEST_CASE("docs/operations.md's key table lists exactly the keys the loader accepts") {
  // The rows of the configuration reference: "| `key` | type | default | meaning |".
  std::ifstream doc(source_dir() / "docs" / "operations.md");
  REQUIRE(doc);
  std::set<std::string> documented;
  bool in_reference = false;
  for (std::string line; std::getline(doc, line);) {
    if (line.starts_with("## ")) in_reference = line == "## Configuration reference";
    if (!in_reference || !line.starts_with("| `")) continue;
    const auto end = line.find('`', 3);
    REQUIRE(end != std::string::npos);
    CHECK_MESSAGE(documented.insert(line.substr(3, end - 3)).second, "twice: " << line);
  }
  const std::vector<std::string> accepted = chat::config::accepted_config_keys();
  const std::set<std::string> loader(accepted.begin(), accepted.end());
  CHECK(loader.size() == accepted.size());
  for (const std::string& key : loader)
    CHECK_MESSAGE(documented.contains(key), "undocumented: " << key);
  for (const std::string& key : documented)
    CHECK_MESSAGE(loader.contains(key), "not a key: " << key);
  CHECK(loader.contains("realm.admin_listen"));
  CHECK(loader.contains("peers[].address"));
}

TEST_CASE("the shipped demo cluster and example configs load") {
  const auto dir = source_dir() / "config";
  const RealmConfig alpha = load_config_file(dir / "realm-alpha.yaml");
  const RealmConfig beta = load_config_file(dir / "realm-beta.yaml");
  const RealmConfig gamma = load_config_file(dir / "realm-gamma.yaml");
  CHECK(load_config_file(dir / "realm.example.yaml").name == "example");

  CHECK(alpha.name == "alpha");
  CHECK(alpha.listen.port == 8889);
  CHECK(alpha.peer_listen.port == 9889);
  REQUIRE(alpha.web_listen.has_value());
  CHECK(alpha.web_listen->port == 8080);
  CHECK(alpha.data_dir == std::filesystem::path("run/data/alpha"));
  CHECK(alpha.admins == std::vector<std::string>{"messi"});
  REQUIRE(alpha.users.size() == 3);
  CHECK(alpha.users[0].username == "messi");
  CHECK(alpha.users[0].password == "surabaya");
  REQUIRE(alpha.peers.size() == 2);
  CHECK(alpha.peers[0].name == "beta");
  CHECK(alpha.peers[0].autoconnect);
  CHECK(alpha.peers[1].name == "gamma");
  CHECK_FALSE(alpha.peers[1].autoconnect);

  CHECK(beta.name == "beta");
  CHECK(beta.listen.port == 8890);
  CHECK(beta.peer_listen.port == 9890);
  REQUIRE(beta.web_listen.has_value());
  CHECK(beta.web_listen->port == 8081);
  CHECK(beta.users.at(0).username == "jokowi");
  CHECK(beta.users.at(0).password == "123");
  CHECK(gamma.name == "gamma");
  CHECK(gamma.listen.port == 8891);
  CHECK(gamma.peer_listen.port == 9891);
  REQUIRE(gamma.web_listen.has_value());
  CHECK(gamma.web_listen->port == 8082);

  // One cluster: one secret, and every peer address is that peer's peer_listen.
  CHECK(alpha.secret == beta.secret);
  CHECK(beta.secret == gamma.secret);
  for (const RealmConfig* realm : {&alpha, &beta, &gamma}) {
    CHECK(realm->password_cost == PasswordCost::interactive);
    for (const auto& peer : realm->peers) {
      const RealmConfig& target = peer.name == "alpha" ? alpha : peer.name == "beta" ? beta : gamma;
      CHECK(peer.name == target.name);
      CHECK(peer.address.port == target.peer_listen.port);
      CHECK(peer.address.host == target.peer_listen.host);
    }
  }
}

TEST_CASE("an admin must be a configured user (regression: anyone could register the name)") {
  CHECK(error_of("realm: {name: a}\nadmins: [root]\n") ==
        "admins: 'root' is not a user listed under 'users' (anyone could register it)");
  CHECK(error_of("realm: {name: a}\nadmins: [messi, root]\nusers:\n"
                 "  - {username: messi, password: p, nama: n, negara: x}\n") ==
        "admins: 'root' is not a user listed under 'users' (anyone could register it)");
}

TEST_CASE(
    "the link frame limit holds the largest message (regression: one message blocked a "
    "link for good)") {
  // 32 KiB of control characters escape to ~196 KB: past the 128 KiB default frame limit.
  CHECK(
      error_of("realm: {name: a}\nlimits: {max_message_bytes: 32768, max_frame_bytes: 131072}\n") ==
      "limits.max_frame_bytes: must be at least 197120 for max_message_bytes 32768 (a message "
      "escapes to up to 6 bytes per byte in a link frame)");
  // Not configured: derived from the message limit.
  const chat::config::RealmConfig derived =
      load_config_text("realm: {name: a}\nlimits: {max_message_bytes: 32768}\n");
  CHECK(derived.limits.max_frame_bytes == chat::config::min_frame_bytes_for(32768));
  CHECK(load_config_text("realm: {name: a}\n").limits.max_frame_bytes == 128 * 1024);
}

TEST_CASE("realm.web_origins: origins only") {
  const auto config = load_config_text(
      "realm: {name: a, web_origins: ['https://chat.example.org', 'http://10.0.0.1:8080']}\n");
  CHECK(config.web_origins ==
        std::vector<std::string>{"https://chat.example.org", "http://10.0.0.1:8080"});
  CHECK(error_of("realm: {name: a, web_origins: ['chat.example.org']}\n") ==
        "realm.web_origins[0]: expected an origin like https://chat.example.org[:port], got "
        "'chat.example.org'");
  CHECK(error_of("realm: {name: a, web_origins: ['https://x.org/path']}\n") ==
        "realm.web_origins[0]: expected an origin like https://chat.example.org[:port], got "
        "'https://x.org/path'");
}
