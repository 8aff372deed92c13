// The realm commands 10-13 and the link events of two (or three) pure Realms wired together
// by an in-memory "link": frames are queued per direction and delivered when the test says,
// so drops, retransmissions and timeouts are exact. No I/O, no clocks.
#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>

#include "core/history.hpp"
#include "core/realm.hpp"
#include "core/realm_state.hpp"
#include "store/memory_store.hpp"
#include "test_environment.hpp"

using namespace chat;
using core::Connection;

namespace {

struct Node {
  explicit Node(core::RealmSettings settings, std::uint64_t epoch = 1)
      : realm(std::move(settings), environment(tokens, epoch)) {}

  static core::Environment environment(int& tokens, std::uint64_t epoch = 1) {
    core::Environment env = core::testing::test_environment(tokens);
    env.epoch = epoch;
    return env;
  }

  int tokens = 0;
  core::Realm realm;
  store::MemoryStore store;
  std::map<std::uint64_t, std::string> completed;  // waiter -> reply
  std::vector<std::string> dialed;
};

core::RealmSettings settings(std::string name, std::vector<core::ConfiguredPeer> peers) {
  core::RealmSettings s;
  s.name = std::move(name);
  s.admins = {"messi"};
  s.peers = std::move(peers);
  s.max_outbox_per_peer = 3;
  return s;
}

class Cluster {
 public:
  Cluster() {
    add("alpha", {{"beta", "127.0.0.1", 9890, true}, {"gamma", "127.0.0.1", 9891, false}});
    add("beta", {{"alpha", "127.0.0.1", 9889, true}});
    add("gamma", {});
  }

  Node& node(const std::string& name) { return *nodes_.at(name); }

  // Runs a client line on a realm; returns its reply, or "WAIT:<id>" for a waiting one.
  std::string run(const std::string& realm, Connection& conn, std::string_view line) {
    Node& n = node(realm);
    core::Outcome out = n.realm.handle(conn, line);
    if (out.password) {
      apply(realm, out);
      const auto& job = *out.password;
      core::PasswordResult result{
          job.kind == core::PasswordJob::Kind::hash || job.hash == "fake$" + job.password,
          "fake$" + job.password};
      out = n.realm.resume(conn, result);
    }
    std::string reply = out.reply;
    std::optional<core::Wait> wait = out.wait;
    std::optional<store::HistoryQuery> history = out.history;
    apply(realm, out);
    if (!reply.empty()) return reply;
    // As realmd does: read the page from the store once the request's commit is done.
    if (history) return core::history_reply(n.store.open_history_reader()->read_history(*history));
    if (wait) return "WAIT:" + std::to_string(wait->waiter);
    return {};
  }

  // A waiting reply once it completed ("" while still waiting).
  std::string completed(const std::string& realm, const std::string& wait_token) {
    auto id = std::stoull(wait_token.substr(5));
    auto& done = node(realm).completed;
    auto it = done.find(id);
    return it == done.end() ? std::string() : it->second;
  }

  // `max_text_*`: what each side's hello announces (0: unknown).
  void link_up(const std::string& a, const std::string& b, std::uint64_t max_text_a = 0,
               std::uint64_t max_text_b = 0) {
    up_.insert(key(a, b));
    apply(a, node(a).realm.link_up(b, max_text_b));
    apply(b, node(b).realm.link_up(a, max_text_a));
  }
  // The realm's store is wiped and it starts again (a new process: a new epoch).
  void wipe(const std::string& name, std::uint64_t epoch) {
    core::RealmSettings s = node(name).realm.settings();
    nodes_[name] = std::make_unique<Node>(std::move(s), epoch);
  }
  void link_down(const std::string& a, const std::string& b) {
    up_.erase(key(a, b));
    wire_[{a, b}].clear();
    wire_[{b, a}].clear();
    apply(a, node(a).realm.link_down(b, "connection reset"));
    apply(b, node(b).realm.link_down(a, "connection reset"));
  }
  // Delivers queued frames until the wire is quiet. Returns how many were delivered.
  int flush() {
    int delivered = 0;
    bool more = true;
    while (more) {
      more = false;
      for (auto& [dir, frames] : wire_) {
        if (frames.empty()) continue;
        auto frame = frames.front();
        frames.pop_front();
        apply(dir.second, node(dir.second).realm.peer_frame(dir.first, frame));
        ++delivered;
        more = true;
        break;
      }
    }
    return delivered;
  }
  // Delivers the oldest frame queued from a to b; the others stay queued.
  void deliver_one(const std::string& a, const std::string& b) {
    auto& frames = wire_[{a, b}];
    REQUIRE_FALSE(frames.empty());
    frames::PeerFrame frame = std::move(frames.front());
    frames.pop_front();
    apply(b, node(b).realm.peer_frame(a, frame));
  }
  // Frames queued from a to b (not yet delivered).
  std::deque<frames::PeerFrame>& wire(const std::string& a, const std::string& b) {
    return wire_[{a, b}];
  }

 private:
  void add(std::string name, std::vector<core::ConfiguredPeer> peers) {
    nodes_.emplace(name, std::make_unique<Node>(settings(name, std::move(peers))));
  }
  static std::pair<std::string, std::string> key(const std::string& a, const std::string& b) {
    return a < b ? std::pair{a, b} : std::pair{b, a};
  }
  void apply(const std::string& realm, core::Outcome out) {
    Node& n = node(realm);
    n.store.commit(out.mutations);
    for (auto& done : out.completions) {
      n.completed[done.waiter] = done.reply;
      for (auto& m : n.realm.reply_written(done.fetched_after_write)) n.store.commit({&m, 1});
    }
    for (auto& m : n.realm.reply_written(out.fetched_after_write)) n.store.commit({&m, 1});
    for (auto& frame : out.frames) {
      if (up_.contains(key(realm, frame.peer))) wire_[{realm, frame.peer}].push_back(frame.frame);
    }
    for (auto& d : out.dial) n.dialed.push_back(d);
  }

  std::map<std::string, std::unique_ptr<Node>> nodes_;
  std::set<std::pair<std::string, std::string>> up_;
  std::map<std::pair<std::string, std::string>, std::deque<frames::PeerFrame>> wire_;
};

std::string error(std::string_view message) {
  return std::string(R"({"status":"ERROR","message":")") + std::string(message) + "\"}";
}
std::string ok(std::string_view message) {
  return std::string(R"({"status":"OK","message":")") + std::string(message) + "\"}";
}
const std::string queued = R"({"status":"OK","message":"Message queued for realm","queued":true})";

struct World {
  Cluster c;
  Connection messi{1}, henderson{2}, jokowi{3}, prabowo{4}, ronaldo{5};
  World() {
    c.run("alpha", messi, "register messi surabaya Lionel_Messi Argentina");
    c.run("alpha", henderson, "register henderson surabaya Jordan_Henderson Inggris");
    c.run("beta", jokowi, "register jokowi 123 joko_widodo indonesia");
    c.run("beta", prabowo, "register prabowo 456 Prabowo Indonesia");
    c.run("gamma", ronaldo, "register ronaldo lisboa Cristiano_Ronaldo Portugal");
  }
};

}  // namespace

TEST_CASE("sendprivaterealm with the link up: answered from the remote ack") {
  World w;
  w.c.link_up("alpha", "beta");
  std::string wait = w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi halo   dari alpha ");
  REQUIRE(wait.rfind("WAIT:", 0) == 0);
  CHECK(w.c.completed("alpha", wait).empty());
  w.c.flush();
  CHECK(w.c.completed("alpha", wait) == ok("Message sent to user in realm"));
  CHECK(w.c.run("beta", w.jokowi, "inbox") == R"({"status":"OK","messages":{}})");
  std::string fetch = w.c.run("beta", w.jokowi, "getrealminbox alpha");
  w.c.flush();
  CHECK(
      w.c.completed("beta", fetch) ==
      R"({"status":"OK","realm":"alpha","messages":{"messi":[{"id":1,"msg_from":"messi","msg_to":"jokowi","msg":"halo   dari alpha","realm":"alpha","time":"2026-11-26T22:33:16Z"}]},"synced":true})");
  // The ack removed it from the outbox, durably.
  CHECK(w.c.node("alpha").store.load().outbox.empty());
  // Unknown user there: the remote realm says so.
  wait = w.c.run("alpha", w.messi, "sendprivaterealm beta nobody hi");
  w.c.flush();
  CHECK(w.c.completed("alpha", wait) == error("Realm/User tidak ditemukan"));
}

TEST_CASE("realm names that are not peers, own realm, access") {
  World w;
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm delta x hi") ==
        error("Realm/User tidak ditemukan"));
  CHECK(w.c.run("alpha", w.messi, "sendgrouprealm delta g hi") ==
        error("Realm/Group tidak ditemukan"));
  CHECK(w.c.run("alpha", w.messi, "getrealminbox delta") == error("Realm tidak ditemukan"));
  // gamma is configured but not linked to (autoconnect: false) until addrealm.
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm gamma ronaldo hi") ==
        error("Realm/User tidak ditemukan"));
  CHECK(w.c.run("alpha", w.messi, "addrealm delta") == error("Realm tidak ditemukan"));
  CHECK(w.c.run("alpha", w.messi, "addrealm beta") == error("Realm sudah ada"));
  CHECK(w.c.run("alpha", w.messi, "addrealm alpha") == error("Realm sudah ada"));
  CHECK(w.c.run("alpha", w.henderson, "addrealm delta 127.0.0.1 9999") == error("Akses ditolak"));
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm alpha henderson hi") ==
        ok("Message sent to user in realm"));
}

TEST_CASE("addrealm: short form dials a configured peer, answers once linked") {
  World w;
  std::string wait = w.c.run("alpha", w.messi, "addrealm gamma");
  REQUIRE(wait.rfind("WAIT:", 0) == 0);
  CHECK(w.c.node("alpha").dialed == std::vector<std::string>{"gamma"});
  w.c.link_up("alpha", "gamma");
  CHECK(w.c.completed("alpha", wait) ==
        R"({"status":"OK","message":"Realm added successfully","state":"connected"})");
  CHECK(w.c.run("alpha", w.messi, "addrealm gamma") == error("Realm sudah ada"));
  // gamma learnt alpha from the handshake and can answer it.
  std::string back = w.c.run("gamma", w.ronaldo, "sendprivaterealm alpha messi ola");
  w.c.flush();
  CHECK(w.c.completed("gamma", back) == ok("Message sent to user in realm"));
  // Remembered across restarts: the store has the peer.
  auto peers = w.c.node("alpha").store.load().peers;
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].name == "gamma");
}

TEST_CASE("addrealm: long form by an admin, timing out as connecting") {
  World w;
  std::string wait = w.c.run("alpha", w.messi, "addrealm delta 127.0.0.1 9999");
  auto out = w.c.node("alpha").realm.wait_timed_out(std::stoull(wait.substr(5)));
  REQUIRE(out.completions.size() == 1);
  CHECK(out.completions[0].reply ==
        R"({"status":"OK","message":"Realm added successfully","state":"connecting"})");
  auto address = w.c.node("alpha").realm.dial_address("delta");
  REQUIRE(address.has_value());
  CHECK(address->port == 9999);
}

TEST_CASE("link down: sends are queued durably, replayed on link-up, delivered exactly once") {
  World w;
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi satu") == queued);
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi dua") == queued);
  CHECK(w.c.node("alpha").store.load().outbox.size() == 2);
  // Not synced while the link is down.
  CHECK(w.c.run("beta", w.jokowi, "getrealminbox alpha") ==
        R"({"status":"OK","realm":"alpha","messages":{},"synced":false})");
  w.c.link_up("alpha", "beta");
  w.c.flush();
  CHECK(w.c.node("alpha").store.load().outbox.empty());
  // A retransmission after a lost ack: the link drops with acks in flight.
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi tiga").rfind("WAIT:", 0) == 0);
  auto& to_beta = w.c.wire("alpha", "beta");
  REQUIRE(to_beta.size() == 1);
  auto frame = to_beta.front();
  to_beta.pop_front();
  w.c.node("beta").realm.peer_frame("alpha", frame);  // stored at beta; its ack is lost
  w.c.link_down("alpha", "beta");
  w.c.link_up("alpha", "beta");  // alpha replays "tiga"
  w.c.flush();
  std::string fetch = w.c.run("beta", w.jokowi, "getrealminbox alpha");
  w.c.flush();
  std::string inbox = w.c.completed("beta", fetch);
  CHECK(inbox.find("\"satu\"") != std::string::npos);
  CHECK(inbox.find("\"dua\"") != std::string::npos);
  auto first = inbox.find("\"tiga\"");
  CHECK(first != std::string::npos);
  CHECK(inbox.find("\"tiga\"", first + 1) == std::string::npos);  // once
  CHECK(w.c.node("alpha").store.load().outbox.empty());
}

TEST_CASE("a queued send that the remote realm refuses comes back as a bounce") {
  World w;
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta nobody hallo") == queued);
  w.c.link_up("alpha", "beta");
  w.c.flush();
  std::string fetch = w.c.run("alpha", w.messi, "getrealminbox beta");
  w.c.flush();
  CHECK(
      w.c.completed("alpha", fetch) ==
      R"({"status":"OK","realm":"beta","messages":{"beta":[{"id":2,"msg_from":"beta","msg_to":"messi","msg":"Pesan untuk nobody tidak terkirim: User tidak ditemukan","realm":"beta","time":"2026-11-26T22:33:16Z","bounce":true}]},"synced":true})");
}

TEST_CASE("a refusal without a reason: the waiting send hears not found, a queued one 'ditolak'") {
  // realmd always names the reason (`error`); the frame allows leaving it out, so an ack from
  // another implementation may. Both fallbacks are client-visible text.
  World w;
  w.c.link_up("alpha", "beta");
  const std::string waiting = w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi satu");
  REQUIRE(waiting.rfind("WAIT:", 0) == 0);
  const std::string told_queued = w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi dua");
  REQUIRE(told_queued.rfind("WAIT:", 0) == 0);
  auto timed_out = w.c.node("alpha").realm.wait_timed_out(std::stoull(told_queued.substr(5)));
  REQUIRE(timed_out.completions.size() == 1);
  CHECK(timed_out.completions[0].reply == queued);
  // Beta never sees the two messages; the acks below stand for what it says.
  w.c.wire("alpha", "beta").clear();
  w.c.wire("beta", "alpha").push_back(frames::Ack{1, false, ""});
  w.c.wire("beta", "alpha").push_back(frames::Ack{2, false, ""});
  w.c.deliver_one("beta", "alpha");
  CHECK(w.c.completed("alpha", waiting) == error("Realm/User tidak ditemukan"));
  w.c.deliver_one("beta", "alpha");
  CHECK(w.c.completed("alpha", told_queued).empty());  // answered "queued" already

  std::string fetch = w.c.run("alpha", w.messi, "getrealminbox beta");
  w.c.flush();
  CHECK(
      w.c.completed("alpha", fetch) ==
      R"({"status":"OK","realm":"beta","messages":{"beta":[{"id":3,"msg_from":"beta","msg_to":"messi","msg":"Pesan untuk jokowi tidak terkirim: ditolak","realm":"beta","time":"2026-11-26T22:33:16Z","bounce":true}]},"synced":true})");
  CHECK(w.c.node("alpha").store.load().outbox.empty());
}

TEST_CASE("a refusal whose ack was lost is refused again when retransmitted, not acked ok") {
  // The ack of a refused message is lost, beta's dedup mark moves past it (a later message
  // is stored), then the user is registered: the replay must still be refused, or alpha
  // would drop a message that is nowhere as delivered.
  World w;
  w.c.link_up("alpha", "beta");
  std::string refused = w.c.run("alpha", w.messi, "sendprivaterealm beta susilo halo susilo");
  std::string stored = w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi halo jokowi");
  w.c.deliver_one("alpha", "beta");  // id 1: susilo is not a user of beta
  w.c.deliver_one("alpha", "beta");  // id 2: stored; beta's mark is 2
  REQUIRE(w.c.wire("beta", "alpha").size() == 2);
  w.c.link_down("alpha", "beta");  // both acks lost
  CHECK(w.c.completed("alpha", refused) == queued);
  CHECK(w.c.completed("alpha", stored) == queued);
  Connection susilo{6};
  // beta's third token (jokowi and prabowo have the first two).
  CHECK(
      w.c.run("beta", susilo, "register susilo 789 Susilo_Bambang Indonesia") ==
      R"({"status":"OK","message":"User registered","tokenid":"00000000-0000-4000-8000-000000000003"})");

  w.c.link_up("alpha", "beta");  // alpha replays ids 1 and 2
  REQUIRE(w.c.wire("alpha", "beta").size() == 2);
  w.c.deliver_one("alpha", "beta");
  w.c.deliver_one("alpha", "beta");
  const auto& acks = w.c.wire("beta", "alpha");
  REQUIRE(acks.size() == 2);
  const auto& first = std::get<frames::Ack>(acks[0]);
  CHECK(first.id == 1);
  CHECK_FALSE(first.ok);
  CHECK(first.error == "User tidak ditemukan");
  const auto& second = std::get<frames::Ack>(acks[1]);
  CHECK(second.id == 2);
  CHECK(second.ok);
  CHECK_FALSE(second.error);  // an ok ack carries no error
  w.c.flush();

  // Beta stored jokowi's message once and nothing for susilo.
  const auto unread = w.c.node("beta").store.load().unread;
  REQUIRE(unread.size() == 1);
  CHECK(unread[0].recipient == "jokowi");
  CHECK(unread[0].text == "halo jokowi");
  std::string fetch = w.c.run("beta", susilo, "getrealminbox alpha");
  w.c.flush();
  CHECK(w.c.completed("beta", fetch) ==
        R"({"status":"OK","realm":"alpha","messages":{},"synced":true})");
  // Messi, told "queued", hears of the refusal as a bounce; alpha's outbox is empty.
  fetch = w.c.run("alpha", w.messi, "getrealminbox beta");
  w.c.flush();
  CHECK(
      w.c.completed("alpha", fetch) ==
      R"({"status":"OK","realm":"beta","messages":{"beta":[{"id":3,"msg_from":"beta","msg_to":"messi","msg":"Pesan untuk susilo tidak terkirim: User tidak ditemukan","realm":"beta","time":"2026-11-26T22:33:16Z","bounce":true}]},"synced":true})");
  CHECK(w.c.node("alpha").store.load().outbox.empty());
}

TEST_CASE("sendgrouprealm reaches every member of the group in the owning realm") {
  World w;
  CHECK(w.c.run("beta", w.jokowi, "addgroup kominfo") == ok("Add group successful"));
  CHECK(w.c.run("beta", w.prabowo, "joingroup kominfo") == ok("Join group successful"));
  w.c.link_up("alpha", "beta");
  std::string wait = w.c.run("alpha", w.messi, "sendgrouprealm beta kominfo rapat jam 9");
  w.c.flush();
  CHECK(w.c.completed("alpha", wait) == ok("Message sent to group in realm"));
  for (Connection* member : {&w.jokowi, &w.prabowo}) {
    std::string fetch = w.c.run("beta", *member, "getrealminbox alpha");
    w.c.flush();
    CHECK(
        w.c.completed("beta", fetch)
            .find(
                R"("msg":"rapat jam 9","realm":"alpha","time":"2026-11-26T22:33:16Z","group":"kominfo")") !=
        std::string::npos);
  }
  wait = w.c.run("alpha", w.messi, "sendgrouprealm beta nogroup hi");
  w.c.flush();
  CHECK(w.c.completed("alpha", wait) == error("Realm/Group tidak ditemukan"));
}

TEST_CASE("an ack that does not come in time: queued; the link dropping: queued") {
  World w;
  w.c.link_up("alpha", "beta");
  std::string wait = w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi a");
  auto out = w.c.node("alpha").realm.wait_timed_out(std::stoull(wait.substr(5)));
  REQUIRE(out.completions.size() == 1);
  CHECK(out.completions[0].reply == queued);
  std::string second = w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi b");
  w.c.link_down("alpha", "beta");
  CHECK(w.c.completed("alpha", second) == queued);
  CHECK(w.c.node("alpha").store.load().outbox.size() == 2);
}

TEST_CASE("a full outbox refuses new sends with a clear error") {
  World w;
  for (int i = 0; i < 3; ++i)
    CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi m") == queued);
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi m") ==
        error("Antrian realm penuh, coba lagi nanti"));
}

TEST_CASE("realms lists every peer with its link state, address, queue and last error") {
  World w;
  w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi m");
  w.c.link_up("alpha", "beta");
  w.c.link_down("alpha", "beta");
  CHECK(
      w.c.run("alpha", w.messi, "realms") ==
      R"({"status":"OK","realms":[{"name":"beta","state":"connecting","address":"127.0.0.1:9890","queued":1,"last_error":"connection reset"},{"name":"gamma","state":"idle","address":"127.0.0.1:9891","queued":0,"last_error":""}]})");
}

TEST_CASE("load restores the outbox, the dedup mark and runtime peers") {
  store::Snapshot snap;
  snap.users.push_back({"jokowi", "fake$123", "joko_widodo", "indonesia"});
  snap.outbox.push_back({5, 3, "alpha", "private", "jokowi", "messi", "hi", "t", ""});
  snap.seen.push_back({"alpha", 8, 41, 2});
  snap.peers.push_back({"delta", "10.0.0.9", 7000});
  snap.max_id = 5;
  int tokens = 0;
  core::Realm beta(settings("beta", {{"alpha", "127.0.0.1", 9889, true}}),
                   Node::environment(tokens));
  beta.load(snap);
  CHECK(beta.peers_to_dial() == std::vector<std::string>{"alpha", "delta"});
  auto up = beta.link_up("alpha");
  REQUIRE(up.frames.size() == 1);
  CHECK(std::get<frames::Msg>(up.frames[0].frame).id == 5);
  CHECK(std::get<frames::Msg>(up.frames[0].frame).epoch == 3);  // its own, kept
  // id 41 of alpha's epoch 8 was seen before: a retransmission is acked, not stored again.
  auto again = beta.peer_frame(
      "alpha", frames::Msg{41, 8, frames::MessageKind::user, "messi", "jokowi", "x", "t"});
  CHECK(again.mutations.empty());
  REQUIRE(again.frames.size() == 1);
  CHECK(std::get<frames::Ack>(again.frames[0].frame).ok);
}

TEST_CASE("the link window: a long outbox is replayed a window at a time, in order") {
  core::RealmSettings s = settings("alpha", {{"beta", "127.0.0.1", 9890, true}});
  s.link_window = 2;
  s.max_outbox_per_peer = 100;
  int tokens = 0;
  core::Realm alpha(s, Node::environment(tokens));
  Connection messi{1};
  auto out = alpha.handle(messi, "register messi surabaya Lionel_Messi Argentina");
  alpha.resume(messi, {true, "fake$surabaya"});
  for (int i = 0; i < 5; ++i)
    alpha.handle(messi, "sendprivaterealm beta jokowi m" + std::to_string(i));
  auto ids = [](const core::Outcome& o) {
    std::vector<std::uint64_t> v;
    for (const auto& f : o.frames) v.push_back(std::get<frames::Msg>(f.frame).id);
    return v;
  };
  auto up = alpha.link_up("beta");
  CHECK(ids(up) == std::vector<std::uint64_t>{1, 2});
  // A new send while the window is full waits behind the older ones.
  auto sixth = alpha.handle(messi, "sendprivaterealm beta jokowi m5");
  CHECK(sixth.frames.empty());
  CHECK(sixth.wait.has_value());
  CHECK(ids(alpha.peer_frame("beta", frames::Ack{1, true, ""})) == std::vector<std::uint64_t>{3});
  CHECK(ids(alpha.peer_frame("beta", frames::Ack{1, true, ""})).empty());  // repeated ack
  CHECK(ids(alpha.peer_frame("beta", frames::Ack{2, true, ""})) == std::vector<std::uint64_t>{4});
  // The link drops: the next link starts again from the oldest unacked.
  alpha.link_down("beta", "reset");
  CHECK(ids(alpha.link_up("beta")) == std::vector<std::uint64_t>{3, 4});
}

TEST_CASE("a late fetched answers only its own getrealminbox (found by fuzz_peer_frames)") {
  World w;
  w.c.link_up("alpha", "beta");
  std::string first = w.c.run("alpha", w.messi, "getrealminbox beta");
  auto expired = w.c.node("alpha").realm.wait_timed_out(std::stoull(first.substr(5)));
  REQUIRE(expired.completions.size() == 1);  // answered "synced":false
  std::string second = w.c.run("alpha", w.messi, "getrealminbox beta");
  // The first fetch's late "fetched" (rid 1) must leave the second wait alone ...
  auto late = w.c.node("alpha").realm.peer_frame("beta", frames::Fetched{1});
  CHECK(late.completions.empty());
  // ... so that its own timer still finds it.
  auto timed_out = w.c.node("alpha").realm.wait_timed_out(std::stoull(second.substr(5)));
  REQUIRE(timed_out.completions.size() == 1);
  CHECK(timed_out.completions[0].reply ==
        R"({"status":"OK","realm":"beta","messages":{},"synced":false})");
}

// --- history realm (docs/contract.md §3.1): both sides of a cross-realm conversation ---

TEST_CASE("history realm: the sender's copy once the peer acked it, and what came from there") {
  World w;
  // Queued while the link is down: not in the sender's history until delivered.
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi satu") == queued);
  const std::string empty = R"({"status":"OK","messages":[],"more":false})";
  CHECK(w.c.run("alpha", w.messi, "history realm beta jokowi") == empty);
  w.c.link_up("alpha", "beta");
  w.c.flush();
  std::string wait = w.c.run("beta", w.jokowi, "sendprivaterealm alpha messi dua");
  w.c.flush();
  CHECK(w.c.completed("beta", wait) == ok("Message sent to user in realm"));

  // alpha: messi's own message (id 2: its outbox id was 1, its history id is given at the ack)
  // and jokowi's (stored by alpha as id 3).
  CHECK(
      w.c.run("alpha", w.messi, "history realm beta jokowi") ==
      R"({"status":"OK","messages":[{"id":2,"msg_from":"messi","msg_to":"jokowi","msg":"satu","realm":"alpha","time":"2026-11-26T22:33:16Z"},{"id":3,"msg_from":"jokowi","msg_to":"messi","msg":"dua","realm":"beta","time":"2026-11-26T22:33:16Z"}],"more":false})");
  // beta: the same conversation with beta's ids (jokowi's outbox id 2, its history id 3).
  CHECK(
      w.c.run("beta", w.jokowi, "history realm alpha messi") ==
      R"({"status":"OK","messages":[{"id":1,"msg_from":"messi","msg_to":"jokowi","msg":"satu","realm":"alpha","time":"2026-11-26T22:33:16Z"},{"id":3,"msg_from":"jokowi","msg_to":"messi","msg":"dua","realm":"beta","time":"2026-11-26T22:33:16Z"}],"more":false})");
  // Nobody else's: henderson (alpha) and prabowo (beta) have no such conversation.
  CHECK(w.c.run("alpha", w.henderson, "history realm beta jokowi") == empty);
  CHECK(w.c.run("beta", w.prabowo, "history realm alpha messi") == empty);
  CHECK(w.c.run("alpha", w.henderson, "conversations") == R"({"status":"OK","conversations":[]})");
  // messi has not fetched "dua" yet: one unread.
  CHECK(
      w.c.run("alpha", w.messi, "conversations") ==
      R"({"status":"OK","conversations":[{"kind":"realm","name":"jokowi","realm":"beta","last_id":3,"last_time":"2026-11-26T22:33:16Z","unread":1}]})");

  CHECK(w.c.run("alpha", w.messi, "history realm delta jokowi") == error("Realm tidak ditemukan"));
  // The realm's own name works like `history user`.
  CHECK(w.c.run("alpha", w.messi, "history realm alpha henderson") == empty);
}

TEST_CASE("history realm: a refused send stays out of history; its bounce is in it") {
  World w;
  CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta nobody halo") == queued);
  w.c.link_up("alpha", "beta");
  w.c.flush();
  CHECK(w.c.run("alpha", w.messi, "history realm beta nobody") ==
        R"({"status":"OK","messages":[],"more":false})");
  CHECK(
      w.c.run("alpha", w.messi, "history realm beta beta") ==
      R"({"status":"OK","messages":[{"id":2,"msg_from":"beta","msg_to":"messi","msg":"Pesan untuk nobody tidak terkirim: User tidak ditemukan","realm":"beta","time":"2026-11-26T22:33:16Z","bounce":true}],"more":false})");
}

TEST_CASE("history group: a group message from another realm is stored once, seen by members") {
  World w;
  w.c.run("alpha", w.messi, "addgroup kominfo");
  w.c.run("alpha", w.henderson, "joingroup kominfo");
  w.c.link_up("alpha", "beta");
  std::string wait = w.c.run("beta", w.jokowi, "sendgrouprealm alpha kominfo rapat");
  w.c.flush();
  CHECK(w.c.completed("beta", wait) == ok("Message sent to group in realm"));
  const std::string page =
      R"({"status":"OK","messages":[{"id":1,"msg_from":"jokowi","msg_to":"kominfo","msg":"rapat","realm":"beta","time":"2026-11-26T22:33:16Z","group":"kominfo"}],"more":false})";
  CHECK(w.c.run("alpha", w.messi, "history group kominfo") == page);
  CHECK(w.c.run("alpha", w.henderson, "history group kominfo") == page);
  // The inbox shows the message under the same id for every member.
  std::string fetch = w.c.run("alpha", w.henderson, "getrealminbox beta");
  w.c.flush();
  CHECK(
      w.c.completed("alpha", fetch) ==
      R"({"status":"OK","realm":"beta","messages":{"jokowi":[{"id":1,"msg_from":"jokowi","msg_to":"henderson","msg":"rapat","realm":"beta","time":"2026-11-26T22:33:16Z","group":"kominfo"}]},"synced":true})");
}

TEST_CASE("a realm whose store was wiped is not taken for a duplicate (epochs, regression)") {
  World w;
  w.c.link_up("alpha", "beta");
  for (int i = 0; i < 5; ++i) {
    w.c.run("beta", w.jokowi, "sendprivaterealm alpha messi old" + std::to_string(i));
    w.c.flush();
  }
  // beta loses its store: ids start at 1 again, in a new epoch.
  w.c.link_down("alpha", "beta");
  w.c.wipe("beta", 2);
  Connection jokowi{30};
  w.c.run("beta", jokowi, "register jokowi 123 joko_widodo indonesia");
  w.c.link_up("alpha", "beta");
  for (int i = 0; i < 3; ++i) {
    std::string wait =
        w.c.run("beta", jokowi, "sendprivaterealm alpha messi new" + std::to_string(i));
    w.c.flush();
    CHECK(w.c.completed("beta", wait) == ok("Message sent to user in realm"));
  }
  // All eight are stored at alpha: every ok:true ack is a stored message.
  std::string fetch = w.c.run("alpha", w.messi, "getrealminbox beta");
  w.c.flush();
  const std::string inbox = w.c.completed("alpha", fetch);
  for (const char* text : {"old0", "old4", "new0", "new1", "new2"}) {
    CHECK_MESSAGE(inbox.find(std::string("\"") + text + "\"") != std::string::npos, text);
  }
  CHECK(w.c.node("alpha").store.load().seen.size() == 2);  // one mark per (beta, epoch)
}

TEST_CASE("a retransmission is recognised within its epoch, across the sender's restarts") {
  World w;
  w.c.link_up("alpha", "beta");
  auto& alpha = w.c.node("alpha").realm;
  const frames::Msg first{7, 100, frames::MessageKind::user, "jokowi", "messi", "hi", "t"};
  auto stored = alpha.peer_frame("beta", first);
  CHECK(stored.mutations.size() == 3);  // the message, its history row and its mark
  // The sender restarted (epoch 101) and replays its old outbox entry with its old epoch.
  auto again = alpha.peer_frame("beta", first);
  CHECK(again.mutations.empty());
  REQUIRE(again.frames.size() == 1);
  CHECK(std::get<frames::Ack>(again.frames[0].frame).ok);
  // The same id in the new epoch is a new message.
  auto fresh = alpha.peer_frame(
      "beta", frames::Msg{7, 101, frames::MessageKind::user, "jokowi", "messi", "x", "t"});
  CHECK(fresh.mutations.size() == 3);
}

TEST_CASE("dedup state is kept for the newest epochs of an origin only") {
  World w;
  w.c.link_up("alpha", "beta");
  auto& alpha = w.c.node("alpha").realm;
  for (std::uint64_t epoch = 1; epoch <= core::max_epochs_per_origin; ++epoch) {
    alpha.peer_frame("beta",
                     frames::Msg{1, epoch, frames::MessageKind::user, "jokowi", "messi", "m", "t"});
  }
  // Epoch 1 is touched again: epoch 2 is now the least recently used.
  alpha.peer_frame("beta",
                   frames::Msg{2, 1, frames::MessageKind::user, "jokowi", "messi", "m", "t"});
  auto out =
      alpha.peer_frame("beta", frames::Msg{1, core::max_epochs_per_origin + 1,
                                           frames::MessageKind::user, "jokowi", "messi", "m", "t"});
  bool forgot_epoch_2 = false;
  for (const auto& m : out.mutations) {
    if (const auto* d = std::get_if<store::DeleteSeen>(&m)) forgot_epoch_2 = d->epoch == 2;
  }
  CHECK(forgot_epoch_2);
  CHECK(alpha.state().epochs_kept("beta") == core::max_epochs_per_origin);
}

TEST_CASE("a message longer than the receiver takes is refused and bounced, never retried") {
  World w;
  const std::string long_text(core::RealmSettings{}.limits.max_message_bytes + 1, 'x');
  SUBCASE("the receiver refuses it with ok:false") {
    w.c.link_up("alpha", "beta");
    auto& beta = w.c.node("beta").realm;
    auto out = beta.peer_frame(
        "alpha", frames::Msg{3, 1, frames::MessageKind::user, "messi", "jokowi", long_text, "t"});
    REQUIRE(out.frames.size() == 1);
    const auto& ack = std::get<frames::Ack>(out.frames[0].frame);
    CHECK_FALSE(ack.ok);
    CHECK(ack.error == "Pesan terlalu panjang");
  }
  SUBCASE("the sender refuses at once what the peer's hello said it cannot take") {
    w.c.link_up("alpha", "beta", 16384, 100);
    CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi " + std::string(101, 'y')) ==
          error("Pesan terlalu panjang"));
    CHECK(w.c.node("alpha").store.load().outbox.empty());
  }
  SUBCASE("a queued one is bounced when the link comes up, and the rest flow") {
    CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi " + std::string(101, 'y')) ==
          queued);
    CHECK(w.c.run("alpha", w.messi, "sendprivaterealm beta jokowi short") == queued);
    w.c.link_up("alpha", "beta", 16384, 100);
    w.c.flush();
    CHECK(w.c.node("alpha").store.load().outbox.empty());
    std::string fetch = w.c.run("alpha", w.messi, "getrealminbox beta");
    w.c.flush();
    CHECK(w.c.completed("alpha", fetch)
              .find("Pesan untuk jokowi tidak terkirim: Pesan terlalu panjang") !=
          std::string::npos);
    std::string got = w.c.run("beta", w.jokowi, "getrealminbox alpha");
    w.c.flush();
    CHECK(w.c.completed("beta", got).find("\"short\"") != std::string::npos);
  }
}

TEST_CASE("a peer with several addresses (holder and standbys) is dialled at each in turn") {
  int tokens = 0;
  core::ConfiguredPeer beta{"beta", "10.0.0.1", 9890, true};
  beta.alternates = {{"10.0.0.2", 9890}, {"10.0.0.3", 9990}};
  core::Realm realm(settings("alpha", {beta, {"gamma", "127.0.0.1", 9891, true}}),
                    core::testing::test_environment(tokens));
  CHECK(realm.dial_addresses("beta") == 3);
  CHECK(realm.dial_addresses("gamma") == 1);
  CHECK(realm.dial_addresses("delta") == 0);
  std::vector<std::string> turns;
  for (std::size_t turn = 0; turn < 4; ++turn) {
    const auto address = realm.dial_address("beta", turn);
    REQUIRE(address.has_value());
    turns.push_back(address->host + ":" + std::to_string(address->port));
  }
  CHECK(turns == std::vector<std::string>{"10.0.0.1:9890", "10.0.0.2:9890", "10.0.0.3:9990",
                                          "10.0.0.1:9890"});
  CHECK(realm.dial_address("gamma", 5)->port == 9891);
}
