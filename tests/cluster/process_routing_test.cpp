// Real realmd processes reaching each other through other realms (docs/protocol.md §2,
// routing): a line of five, a ring of four, the middle realm killed, a direct link added
// while traffic flows through three relays, and realms that do not relay or may not be
// reached through others. Every message answered OK must arrive exactly once; each case prints
// sent / delivered / lost / duplicated.
#include <doctest/doctest.h>
#include <sodium.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "federation/frames.hpp"
#include "support/delivery_checks.hpp"
#include "support/free_port.hpp"
#include "support/hand_made_peer.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realm_cluster.hpp"
#include "support/realmd_process.hpp"
#include "support/temp_dir.hpp"

using test_support::eventually;
using test_support::LineClient;
using test_support::login;
using test_support::next_frame;
using test_support::realm_entry;
using test_support::RealmdProcess;
using test_support::Tally;
using test_support::TempDir;
using namespace std::chrono_literals;

namespace {

const std::string& sent_reply = test_support::sent_to_realm_reply;
const std::string& queued_reply = test_support::queued_for_realm_reply;

// Realms linked only as `links` says (each side names the other), each with users messi
// (an admin) and jokowi. `federation_extra` adds keys under federation: per realm.
class Topology {
 public:
  Topology(const std::vector<std::string>& names,
           const std::vector<std::pair<std::string, std::string>>& links,
           const std::map<std::string, std::string>& federation_extra = {}) {
    for (const std::string& name : names) ports_[name] = test_support::free_port();
    for (const std::string& name : names) {
      std::string peers = "peers: [";
      for (const auto& [x, y] : links) {
        if (x != name && y != name) continue;
        const std::string& other = x == name ? y : x;
        if (peers.back() != '[') peers += ", ";
        peers += "{name: " + other + ", address: 127.0.0.1:" + std::to_string(ports_[other]) + "}";
      }
      peers += "]\n";
      const std::filesystem::path folder = dir_.path() / name;
      std::filesystem::create_directories(folder);
      std::string yaml = RealmdProcess::config_yaml(
          name, folder / "data",
          "admins: [messi]\n" + test_support::users_yaml({"messi", "jokowi"}) + peers,
          ports_[name]);
      auto extra = federation_extra.find(name);
      if (extra != federation_extra.end()) {
        const std::string secret = "  secret: test-secret\n";
        yaml.replace(yaml.find(secret), secret.size(), secret + extra->second);
      }
      processes_[name] = std::make_unique<RealmdProcess>(folder, yaml);
    }
  }

  RealmdProcess& operator[](const std::string& name) { return *processes_.at(name); }
  void start_all() {
    for (auto& [name, process] : processes_) process->start();
  }
  std::uint16_t peer_port(const std::string& name) const { return ports_.at(name); }

  // Nothing held anywhere (no outbox entry, no envelope in custody on any realm that runs):
  // no copy of anything is still travelling.
  bool quiet() {
    for (auto& [name, process] : processes_) {
      if (!process->running()) continue;
      const std::string reply = login(*process, "messi")->request("realms");
      for (auto at = reply.find(R"("queued":)"); at != std::string::npos;
           at = reply.find(R"("queued":)", at + 1)) {
        if (reply[at + 9] != '0') return false;
      }
    }
    return true;
  }

 private:
  TempDir dir_;
  std::map<std::string, std::uint16_t> ports_;
  std::map<std::string, std::unique_ptr<RealmdProcess>> processes_;
};

std::string text_of(int i) {
  return std::string("m").append(std::to_string(i));
}

std::vector<std::string> texts(int count) {
  std::vector<std::string> all;
  for (int i = 0; i < count; ++i) all.push_back(text_of(i));
  return all;
}

std::string sends(const std::string& realm, int first, int count) {
  std::string lines;
  for (int i = first; i < first + count; ++i) {
    lines += "sendprivaterealm " + realm + " jokowi " + text_of(i) + "\n";
  }
  return lines;
}

// Sends m<first>.. pipelined and records which replies promised delivery.
void send_stream(LineClient& sender, const std::string& realm, int first, int count,
                 std::vector<bool>& accepted) {
  sender.send_raw(sends(realm, first, count));
  for (int i = first; i < first + count; ++i) {
    const std::string reply = sender.expect_reply(30s);
    accepted[static_cast<std::size_t>(i)] = reply == sent_reply || reply == queued_reply;
  }
}

// jokowi's messages from `origin`, in the order the inbox gives them (oldest first), read
// until `expected` arrived or the deadline passed.
std::vector<std::string> read_inbox(RealmdProcess& realm, const std::string& origin,
                                    std::size_t expected) {
  std::vector<std::string> arrived;
  auto jokowi = login(realm, "jokowi");
  constexpr std::string_view key = R"("msg":")";
  eventually(
      [&] {
        const std::string reply = jokowi->request("getrealminbox " + origin, 30s);
        for (auto at = reply.find(key); at != std::string::npos; at = reply.find(key, at + 1)) {
          const auto start = at + key.size();
          arrived.push_back(reply.substr(start, reply.find('"', start) - start));
        }
        return arrived.size() >= expected;
      },
      60s);
  return arrived;
}

std::map<std::string, int> counted(const std::vector<std::string>& arrived) {
  std::map<std::string, int> seen;
  for (const std::string& text : arrived) ++seen[text];
  return seen;
}

// What reached jokowi at `dest` from `origin`: read until `expected` arrived, then, once
// nothing is held anywhere (no copy still travelling), whatever came after.
std::vector<std::string> delivered(Topology& t, const std::string& dest, const std::string& origin,
                                   std::size_t expected) {
  std::vector<std::string> arrived = read_inbox(t[dest], origin, expected);
  REQUIRE(eventually([&] { return t.quiet(); }, 60s));
  for (const std::string& late : read_inbox(t[dest], origin, 0)) arrived.push_back(late);
  return arrived;
}

bool in_order(const std::vector<std::string>& arrived) {
  for (std::size_t i = 1; i < arrived.size(); ++i) {
    if (std::stoi(arrived[i].substr(1)) <= std::stoi(arrived[i - 1].substr(1))) return false;
  }
  return true;
}

bool routed_via(LineClient& client, const std::string& realm, const std::string& via,
                int distance) {
  const std::string entry = realm_entry(client, realm);
  return entry.find(R"("state":"routed")") != std::string::npos &&
         entry.find(R"("via":")" + via + "\"") != std::string::npos &&
         entry.find(R"("distance":)" + std::to_string(distance)) != std::string::npos;
}

const std::vector<std::pair<std::string, std::string>> line_links{
    {"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "e"}};

}  // namespace

TEST_CASE("a line of five: a reaches e through b, c and d, every message once and in order") {
  Topology t({"a", "b", "c", "d", "e"}, line_links);
  t.start_all();
  auto messi = login(t["a"], "messi");
  REQUIRE(eventually([&] { return routed_via(*messi, "e", "b", 4); }, 20s));

  constexpr int count = 300;
  std::vector<bool> accepted(count);
  send_stream(*messi, "e", 0, count, accepted);
  const std::vector<std::string> arrived = delivered(t, "e", "a", count);
  const Tally tally = test_support::tally(texts(count), accepted, counted(arrived));
  CHECK(tally.accepted == count);
  CHECK(tally.delivered == count);
  CHECK(tally.lost == 0);
  CHECK(tally.duplicated == 0);
  CHECK(in_order(arrived));

  // The destination's answer comes back: the sender hears "sent", as from a direct peer, and a
  // refusal (no such user at e) is the direct peer's error too.
  CHECK(messi->request("sendprivaterealm e jokowi hello") == sent_reply);
  CHECK(messi->request("sendprivaterealm e nobody hello") ==
        R"({"status":"ERROR","message":"Realm/User tidak ditemukan"})");
  // getrealminbox across the path: e answers (synced), and e's message to messi is there.
  auto jokowi_e = login(t["e"], "jokowi");
  CHECK(jokowi_e->request("sendprivaterealm a messi back") == sent_reply);
  const std::string inbox = messi->request("getrealminbox e");
  CHECK(inbox.find(R"("msg":"back")") != std::string::npos);
  CHECK(inbox.find(R"("synced":false)") == std::string::npos);
}

TEST_CASE("a ring of four: no loop, no duplicate, both ways round") {
  Topology t({"a", "b", "c", "d"}, {{"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "a"}});
  t.start_all();
  auto messi = login(t["a"], "messi");
  // c is two links away both ways round: the tie goes to the smaller next hop.
  REQUIRE(eventually([&] { return routed_via(*messi, "c", "b", 2); }, 20s));

  constexpr int count = 200;
  std::vector<bool> accepted(count);
  send_stream(*messi, "c", 0, count, accepted);
  const std::vector<std::string> arrived = delivered(t, "c", "a", count);
  const Tally tally = test_support::tally(texts(count), accepted, counted(arrived));
  CHECK(tally.delivered == count);
  CHECK(tally.lost == 0);
  CHECK(tally.duplicated == 0);

  // b goes away: the ring heals through d, and what is sent then arrives once too.
  t["b"].kill9();
  REQUIRE(eventually([&] { return routed_via(*messi, "c", "d", 2); }, 20s));
  std::vector<bool> more(2 * count);
  send_stream(*messi, "c", count, count, more);
  const std::vector<std::string> later = delivered(t, "c", "a", count);
  std::vector<bool> second(more.begin() + count, more.end());
  const std::vector<std::string> both = texts(2 * count);
  std::vector<std::string> second_texts(both.begin() + count, both.end());
  const Tally healed = test_support::tally(second_texts, second, counted(later));
  CHECK(healed.delivered == count);
  CHECK(healed.lost == 0);
  CHECK(healed.duplicated == 0);
}

TEST_CASE("the middle realm killed: messages wait, then arrive once and in order when it returns") {
  Topology t({"a", "b", "c", "d", "e"}, line_links);
  t.start_all();
  auto messi = login(t["a"], "messi");
  REQUIRE(eventually([&] { return routed_via(*messi, "e", "b", 4); }, 20s));

  constexpr int count = 200;
  std::vector<bool> accepted(count);
  messi->send_raw(sends("e", 0, count));
  for (int i = 0; i < count; ++i) {
    if (i == count / 4) t["c"].kill9();  // with the rest still on their way
    const std::string reply = messi->expect_reply(30s);
    accepted[static_cast<std::size_t>(i)] = reply == sent_reply || reply == queued_reply;
  }
  // While c is down a send is queued (e is known, no path is up).
  REQUIRE(eventually(
      [&] { return realm_entry(*messi, "e").find("unreachable") != std::string::npos; }));
  std::vector<bool> all(count + 1);
  std::copy(accepted.begin(), accepted.end(), all.begin());
  CHECK(messi->request("sendprivaterealm e jokowi " + text_of(count)) == queued_reply);
  all[count] = true;

  t["c"].start();
  const std::vector<std::string> arrived = delivered(t, "e", "a", count + 1);
  const Tally tally = test_support::tally(texts(count + 1), all, counted(arrived));
  CHECK(tally.accepted == count + 1);
  CHECK(tally.delivered == count + 1);
  CHECK(tally.lost == 0);
  CHECK(tally.duplicated == 0);
  CHECK(in_order(arrived));
}

TEST_CASE(
    "a direct link a-e added while traffic flows through b, c and d: nothing lost, "
    "nothing twice") {
  Topology t({"a", "b", "c", "d", "e"}, line_links);
  t.start_all();
  auto messi = login(t["a"], "messi");
  REQUIRE(eventually([&] { return routed_via(*messi, "e", "b", 4); }, 20s));

  constexpr int count = 600;
  std::vector<bool> accepted(count);
  messi->send_raw(sends("e", 0, count / 2));
  auto admin = login(t["a"], "messi");
  // Added while the first half is on its way.
  const std::string added =
      admin->request("addrealm e 127.0.0.1 " + std::to_string(t.peer_port("e")));
  CHECK(added.find(R"("status":"OK")") != std::string::npos);
  for (int i = 0; i < count / 2; ++i) {
    const std::string reply = messi->expect_reply(30s);
    accepted[static_cast<std::size_t>(i)] = reply == sent_reply || reply == queued_reply;
  }
  REQUIRE(eventually([&] { return test_support::linked(*messi, "e"); }));
  send_stream(*messi, "e", count / 2, count / 2, accepted);

  const std::vector<std::string> arrived = delivered(t, "e", "a", count);
  const Tally all = test_support::tally(texts(count), accepted, counted(arrived));
  CHECK(all.accepted == count);
  CHECK(all.delivered == count);
  CHECK(all.lost == 0);
  CHECK(all.duplicated == 0);
}

TEST_CASE("a realm that does not relay never forwards; one not reachable through others is not") {
  SUBCASE("federation.relay: false") {
    Topology t({"a", "b", "c"}, {{"a", "b"}, {"b", "c"}}, {{"b", "  relay: false\n"}});
    t.start_all();
    auto messi = login(t["a"], "messi");
    auto messi_c = login(t["c"], "messi");
    REQUIRE(eventually(
        [&] { return test_support::linked(*messi, "b") && test_support::linked(*messi_c, "b"); }));
    // Both sides hear b's announcement (it names only b) and never learn a path to each other.
    REQUIRE(eventually([&] { return t.quiet(); }));
    CHECK(realm_entry(*messi, "c").empty());
    CHECK(realm_entry(*messi_c, "a").empty());
    CHECK(messi->request("sendprivaterealm c jokowi hi") ==
          R"({"status":"ERROR","message":"Realm/User tidak ditemukan"})");
    // b itself is reached directly as before.
    CHECK(messi->request("sendprivaterealm b jokowi hi") == sent_reply);
  }
  SUBCASE("federation.reachable_via_relays: false") {
    Topology t({"a", "b", "c"}, {{"a", "b"}, {"b", "c"}},
               {{"c", "  reachable_via_relays: false\n"}});
    t.start_all();
    auto messi = login(t["a"], "messi");
    auto messi_c = login(t["c"], "messi");
    // c still reaches a through b; a is never told of a path to c.
    REQUIRE(eventually([&] { return routed_via(*messi_c, "a", "b", 2); }, 20s));
    CHECK(realm_entry(*messi, "c").empty());
    CHECK(messi->request("sendprivaterealm c jokowi hi") ==
          R"({"status":"ERROR","message":"Realm/User tidak ditemukan"})");
  }
}

namespace {

namespace federation = chat::federation;
namespace frames = chat::frames;

// Takes the next fwd from `from` (acking it there) and hands it to `to` under `hop_id`,
// changed by `change` on the way.
void relay_one(LineClient& from, LineClient& to, std::uint64_t hop_id,
               const std::function<void(frames::Fwd&)>& change = {}) {
  frames::Fwd fwd = std::get<frames::Fwd>(next_frame(from, "fwd"));
  from.send(federation::encode(frames::Fack{.id = fwd.id}));
  fwd.id = hop_id;
  ++fwd.hops;
  if (change) change(fwd);
  to.send(federation::encode(fwd));
}

}  // namespace

TEST_CASE("a relay that alters a message: the destination refuses it, the sender hears why") {
  // a and e are real realms; x, between them, is this test: it links to both with the
  // cluster's secret, announces each to the other, and relays by hand.
  TempDir dir;
  std::map<std::string, std::unique_ptr<RealmdProcess>> realms;
  for (const std::string name : {"a", "e"}) {
    std::filesystem::create_directories(dir.path() / name);
    realms[name] = std::make_unique<RealmdProcess>(
        dir.path() / name,
        RealmdProcess::config_yaml(name, dir.path() / name / "data",
                                   test_support::users_yaml({"messi", "jokowi"})));
    realms[name]->start();
  }
  LineClient to_a(realms["a"]->peer_port());
  LineClient to_e(realms["e"]->peer_port());
  const test_support::HandMadePeer x{.name = "x", .secret = "test-secret"};
  x.dial(to_a, "a");
  x.dial(to_e, "e");
  // Each realm announces itself with its key; x passes each on to the other.
  const auto a_routes = std::get<frames::Route>(next_frame(to_a, "route"));
  const auto e_routes = std::get<frames::Route>(next_frame(to_e, "route"));
  REQUIRE(a_routes.keys.contains("a"));
  REQUIRE(e_routes.keys.contains("e"));
  to_a.send(federation::encode(frames::Route{
      .via_others = true, .routes = {{"x"}, {"x", "e"}}, .keys = {{"e", e_routes.keys.at("e")}}}));
  to_e.send(federation::encode(frames::Route{
      .via_others = true, .routes = {{"x"}, {"x", "a"}}, .keys = {{"a", a_routes.keys.at("a")}}}));
  auto messi = login(*realms["a"], "messi");
  REQUIRE(eventually([&] { return routed_via(*messi, "e", "x", 2); }));

  // Passed on as it is: stored, and the answer comes back.
  messi->send("sendprivaterealm e jokowi asli");
  relay_one(to_a, to_e, 1);
  relay_one(to_e, to_a, 1);  // e's answer
  CHECK(messi->expect_reply() == sent_reply);

  // Altered on the way: refused at e (logged), and the refusal reaches the sender.
  messi->send("sendprivaterealm e jokowi asli juga");
  relay_one(to_a, to_e, 2, [](frames::Fwd& fwd) { fwd.text = "palsu"; });
  relay_one(to_e, to_a, 2);
  CHECK(messi->expect_reply() == R"({"status":"ERROR","message":"Tanda tangan pesan tidak sah"})");
  // A forged sender is refused the same way.
  messi->send("sendprivaterealm e jokowi dari messi");
  relay_one(to_a, to_e, 3, [](frames::Fwd& fwd) { fwd.from = "jokowi"; });
  relay_one(to_e, to_a, 3);
  CHECK(messi->expect_reply() == R"({"status":"ERROR","message":"Tanda tangan pesan tidak sah"})");

  const std::vector<std::string> arrived = read_inbox(*realms["e"], "a", 1);
  CHECK(arrived == std::vector<std::string>{"asli"});
  CHECK(realms["e"]->log().find("bad signature") != std::string::npos);
  MESSAGE("sent=3 delivered=" << arrived.size() << " refused (altered)=2 lost=0 duplicated=0");
}

TEST_CASE("a key pinned before a kill -9 is still pinned after the restart") {
  // e is a real realm; x, linked to it, is this test: it announces a realm a behind it, with
  // a's key. After e's kill -9 and restart, x announces another key for a: e keeps the first.
  TempDir dir;
  RealmdProcess e(dir.path(), RealmdProcess::config_yaml("e", dir.path() / "data"));
  e.start();
  const test_support::HandMadePeer x{.name = "x", .secret = "test-secret"};
  const std::string first_key(64, 'a'), second_key(64, 'b');
  const auto announce_a = [&](LineClient& link, const std::string& key) {
    link.send(federation::encode(
        frames::Route{.via_others = true, .routes = {{"x"}, {"x", "a"}}, .keys = {{"a", key}}}));
  };
  const std::string pinned_a = "pinned the signing key of realm a (stored)";
  {
    LineClient to_e(e.peer_port());
    x.dial(to_e, "e");
    announce_a(to_e, first_key);
    REQUIRE(eventually([&] { return e.log().find(pinned_a) != std::string::npos; }));
  }
  e.kill9();
  e.start();
  LineClient to_e(e.peer_port());
  x.dial(to_e, "e");
  announce_a(to_e, second_key);
  CHECK(eventually([&] {
    return e.log().find("carries another signing key for realm a: kept the pinned one") !=
           std::string::npos;
  }));
  CHECK(e.log().find(pinned_a) == std::string::npos);
}

namespace {

std::string hex_of(const unsigned char* bytes, std::size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.pop_back();
  return hex;
}

// The key `realm` announces for itself on a new link from the hand-made peer `x`.
std::string announced_own_key(const RealmdProcess& realm, const std::string& name,
                              const test_support::HandMadePeer& x) {
  LineClient link(realm.peer_port());
  x.dial(link, name);
  const auto routes = std::get<frames::Route>(next_frame(link, "route"));
  return routes.keys.contains(name) ? routes.keys.at(name) : std::string();
}

}  // namespace

TEST_CASE("an older realmd's key and pins in data_dir are imported into the store, then not read") {
  // What a realmd before the identity moved into the store left: realm.sign.key, realm.pins.
  REQUIRE(sodium_init() >= 0);
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  unsigned char secret_key[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(public_key, secret_key);
  TempDir dir;
  const std::filesystem::path data = dir.path() / "data";
  std::filesystem::create_directories(data);
  std::ofstream(data / "realm.sign.key") << hex_of(secret_key, sizeof secret_key) << "\n";
  std::ofstream(data / "realm.pins") << "a " << std::string(64, 'a') << "\n";
  const std::string expected_key = hex_of(public_key, sizeof public_key);

  RealmdProcess e(dir.path(), RealmdProcess::config_yaml("e", data));
  const test_support::HandMadePeer x{.name = "x", .secret = "test-secret"};
  const auto keeps_pin_of_a = [&] {
    LineClient link(e.peer_port());
    x.dial(link, "e");
    link.send(federation::encode(frames::Route{
        .via_others = true, .routes = {{"x"}, {"x", "a"}}, .keys = {{"a", std::string(64, 'b')}}}));
    return eventually([&] {
      return e.log().find("carries another signing key for realm a: kept the pinned one") !=
             std::string::npos;
    });
  };
  e.start();
  CHECK(announced_own_key(e, "e", x) == expected_key);
  CHECK(e.log().find("realm.sign.key (imported)") != std::string::npos);
  CHECK(e.log().find("imported 1 pinned keys") != std::string::npos);
  CHECK(keeps_pin_of_a());

  // The files are no longer read (nor written): the store holds both now.
  CHECK(e.terminate() == 0);
  std::filesystem::remove(data / "realm.sign.key");
  std::filesystem::remove(data / "realm.pins");
  e.start();
  CHECK(announced_own_key(e, "e", x) == expected_key);
  CHECK(e.log().find("imported") == std::string::npos);
  CHECK(keeps_pin_of_a());
  CHECK_FALSE(std::filesystem::exists(data / "realm.sign.key"));
  CHECK_FALSE(std::filesystem::exists(data / "realm.pins"));
}
