// A pure Realm taking routed envelopes (core/realm_routing.cpp): exactly once per (origin,
// epoch, seq) whatever the order, the answer sent back toward the origin, custody acked,
// and a realm that does not relay refusing to. No I/O.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/realm.hpp"
#include "core/realm_state.hpp"
#include "test_environment.hpp"

using namespace chat;

namespace {

struct Node {
  explicit Node(bool relay = true)
      : realm(settings(relay), core::testing::test_environment(tokens)) {
    realm.seed_user({"jokowi", "fake$x", "joko", "indonesia"});
    realm.link_up("d");
    // d reaches a three links away (d, c, b, a).
    frames::Route routes;
    routes.routes = {{"d"}, {"d", "c", "b", "a"}, {"d", "x"}};
    realm.peer_frame("d", routes);
  }
  static core::RealmSettings settings(bool relay) {
    core::RealmSettings s;
    s.name = "e";
    s.relay = relay;
    return s;
  }
  int tokens = 0;
  core::Realm realm;
};

frames::Fwd envelope(std::uint64_t hop_id, std::uint64_t seq, const char* dest = "e") {
  frames::Fwd f;
  f.id = hop_id;
  f.origin.assign(1, 'a');
  f.dest.assign(dest);
  f.epoch = 7;
  f.seq = seq;
  f.hops = 3;
  f.kind = frames::MessageKind::user;
  f.from = "messi";
  f.to = "jokowi";
  f.text = std::string("m").append(std::to_string(seq));
  f.time = "2026-11-26T22:33:16Z";
  f.oid = 100 + seq;
  return f;
}

int stored(const core::Outcome& out) {
  int n = 0;
  for (const auto& m : out.mutations) n += std::holds_alternative<store::PutMessage>(m) ? 1 : 0;
  return n;
}

// The envelopes this Outcome sends, and whether it acked hop id `acked`.
std::vector<frames::Fwd> sent(const core::Outcome& out) {
  std::vector<frames::Fwd> envelopes;
  for (const auto& f : out.frames) {
    if (const auto* e = std::get_if<frames::Fwd>(&f.frame)) envelopes.push_back(*e);
  }
  return envelopes;
}

bool acks(const core::Outcome& out, std::uint64_t hop_id) {
  for (const auto& f : out.frames) {
    const auto* ack = std::get_if<frames::Fack>(&f.frame);
    if (ack != nullptr && ack->id == hop_id && f.peer == "d") return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the destination takes each (origin, epoch, seq) once, in any order, and answers") {
  Node e;
  core::Outcome second = e.realm.peer_frame("d", envelope(1, 2));
  CHECK(stored(second) == 1);  // seq 2 before seq 1: taken, not a duplicate
  CHECK(acks(second, 1));
  REQUIRE(sent(second).size() == 1);
  const frames::Fwd answer = sent(second)[0];
  CHECK(answer.kind == frames::MessageKind::answer);
  CHECK(answer.dest == "a");
  CHECK(answer.oid == 102);
  CHECK(answer.re_epoch == 7);
  CHECK(answer.text.empty());  // stored: ok

  core::Outcome first = e.realm.peer_frame("d", envelope(2, 1));
  CHECK(stored(first) == 1);
  // Second copies (another path, a retransmission) are acked and dropped, unanswered.
  for (std::uint64_t seq : {1u, 2u}) {
    core::Outcome again = e.realm.peer_frame("d", envelope(10 + seq, seq));
    CHECK(stored(again) == 0);
    CHECK(acks(again, 10 + seq));
    CHECK(sent(again).empty());
  }
  CHECK(stored(e.realm.peer_frame("d", envelope(20, 3))) == 1);
  // Another epoch of the same origin (it restarted) starts its seqs again.
  frames::Fwd restarted = envelope(21, 1);
  restarted.epoch = 8;
  CHECK(stored(e.realm.peer_frame("d", restarted)) == 1);
}

TEST_CASE("an unknown user is refused back to the origin, once") {
  Node e;
  frames::Fwd f = envelope(1, 1);
  f.to = "nobody";
  core::Outcome out = e.realm.peer_frame("d", f);
  CHECK(stored(out) == 0);
  REQUIRE(sent(out).size() == 1);
  CHECK(sent(out)[0].text == "User tidak ditemukan");
  CHECK(sent(out)[0].about == "e");
  CHECK(sent(e.realm.peer_frame("d", f)).empty());
}

TEST_CASE("a relay stores before it acks and sends on; a realm that does not relay refuses") {
  Node relay;
  core::Outcome out = relay.realm.peer_frame("d", envelope(1, 1, "x"));
  CHECK(acks(out, 1));
  bool kept = false;
  for (const auto& m : out.mutations) kept |= std::holds_alternative<store::PutOutbox>(m);
  CHECK(kept);
  REQUIRE(sent(out).size() == 1);
  CHECK(sent(out)[0].dest == "x");
  CHECK(sent(out)[0].hops == 4);
  // Not forgotten until the next hop acks it.
  CHECK(relay.realm.state().routing().entries.size() == 1);
  relay.realm.peer_frame("d", frames::Fack{sent(out)[0].id});
  CHECK(relay.realm.state().routing().entries.empty());

  Node no_relay(false);
  core::Outcome refused = no_relay.realm.peer_frame("d", envelope(1, 1, "x"));
  CHECK(acks(refused, 1));
  REQUIRE(sent(refused).size() == 1);
  CHECK(sent(refused)[0].kind == frames::MessageKind::answer);
  CHECK(sent(refused)[0].dest == "a");
  CHECK(sent(refused)[0].text == "Realm tidak ditemukan");
}

namespace {

// A destination that verifies. A "signature" here is the signer's key itself: what matters
// is whether the key for the origin is known and matches.
struct VerifyingNode {
  explicit VerifyingNode(std::size_t max_waiting = 10000, const store::Snapshot& snapshot = {})
      : realm(settings(max_waiting), environment(tokens)) {
    realm.load(snapshot);
    realm.seed_user({"jokowi", "fake$x", "joko", "indonesia"});
    realm.link_up("d");
    // d announces a three links away, and only its own key: a's has not reached d yet.
    announce({{"d", "kd"}});
  }
  static core::RealmSettings settings(std::size_t max_waiting) {
    core::RealmSettings s;
    s.name = "e";
    s.max_relay_queue = max_waiting;
    return s;
  }
  static core::Environment environment(int& tokens) {
    core::Environment env = core::testing::test_environment(tokens);
    env.sign = [](std::string_view) { return std::string("ke"); };
    env.verify = [](std::string_view key, std::string_view, std::string_view sig) {
      return key == sig;
    };
    return env;
  }
  core::Outcome announce(std::map<std::string, std::string> keys) {
    frames::Route routes;
    routes.routes = {{"d"}, {"d", "c", "b", "a"}};
    routes.keys = std::move(keys);
    return realm.peer_frame("d", routes);
  }
  int tokens = 0;
  core::Realm realm;
};

frames::Fwd signed_by(const char* key, std::uint64_t hop_id, std::uint64_t seq) {
  frames::Fwd f = envelope(hop_id, seq);
  f.sig = key;
  return f;
}

template <typename Mutation>
int count(const core::Outcome& out) {
  int n = 0;
  for (const auto& m : out.mutations) n += std::holds_alternative<Mutation>(m) ? 1 : 0;
  return n;
}

}  // namespace

// The origin's route can reach a destination before the announcement carrying the origin's
// key does; the message was refused as forged in that moment (found by bench.sh's route row).
TEST_CASE("a message whose origin's key has not come yet waits for it, then is taken once") {
  VerifyingNode e;
  core::Outcome early = e.realm.peer_frame("d", signed_by("ka", 1, 1));
  CHECK(stored(early) == 0);
  CHECK(acks(early, 1));                       // in custody here: d may forget it
  CHECK(sent(early).empty());                  // neither refused nor answered yet
  CHECK(count<store::PutOutbox>(early) == 1);  // kept across a restart
  CHECK(e.realm.state().routing().awaiting_key.size() == 1);

  core::Outcome key_came = e.announce({{"d", "kd"}, {"a", "ka"}});
  CHECK(stored(key_came) == 1);
  CHECK(count<store::DeleteOutbox>(key_came) == 1);
  REQUIRE(sent(key_came).size() == 1);
  CHECK(sent(key_came)[0].kind == frames::MessageKind::answer);
  CHECK(sent(key_came)[0].text.empty());  // ok
  CHECK(e.realm.state().routing().awaiting_key.empty());
  CHECK(e.realm.state().routing().entries.size() == 1);  // only the answer, held to send
  // The same message again (another path): not stored twice.
  CHECK(stored(e.realm.peer_frame("d", signed_by("ka", 2, 1))) == 0);
}

TEST_CASE("a waiting message signed by another key is refused when the key comes") {
  VerifyingNode e;
  CHECK(stored(e.realm.peer_frame("d", signed_by("kx", 1, 1))) == 0);
  core::Outcome key_came = e.announce({{"d", "kd"}, {"a", "ka"}});
  CHECK(stored(key_came) == 0);
  REQUIRE(sent(key_came).size() == 1);
  CHECK(sent(key_came)[0].text == "Tanda tangan pesan tidak sah");
  REQUIRE(key_came.audit.size() == 1);
  CHECK(key_came.audit[0].find("bad signature") != std::string::npos);
}

TEST_CASE("at most max_relay_queue messages wait for keys; past that they are refused") {
  VerifyingNode e(1);
  CHECK(sent(e.realm.peer_frame("d", signed_by("ka", 1, 1))).empty());
  core::Outcome second = e.realm.peer_frame("d", signed_by("ka", 2, 2));
  CHECK(acks(second, 2));
  REQUIRE(sent(second).size() == 1);
  CHECK(sent(second)[0].text == "Tanda tangan pesan tidak sah");
}

TEST_CASE("a message waiting for its key is still waiting after a restart") {
  frames::Fwd held = signed_by("ka", 0, 1);
  held.id = 9;
  store::Snapshot snapshot;
  snapshot.outbox.push_back(core::to_outbox_record(held));
  snapshot.max_id = 9;
  VerifyingNode e(10000, snapshot);
  CHECK(e.realm.state().routing().awaiting_key.size() == 1);
  CHECK(e.realm.state().routing().queued_for.empty());  // not a message to send anywhere
  core::Outcome key_came = e.announce({{"d", "kd"}, {"a", "ka"}});
  CHECK(stored(key_came) == 1);
  CHECK(count<store::DeleteOutbox>(key_came) == 1);
}

TEST_CASE(
    "a key learnt is stored with the announcement that taught it, and pinned after a "
    "restart") {
  VerifyingNode e;
  core::Outcome key_came = e.announce({{"d", "kd"}, {"a", "ka"}});
  REQUIRE(count<store::PutPin>(key_came) == 1);  // d's was pinned (and stored) before
  for (const auto& m : key_came.mutations) {
    if (const auto* pin = std::get_if<store::PutPin>(&m)) {
      CHECK(pin->pin == store::PinRecord{"a", "ka"});
    }
  }
  // Announced again, or with another key: nothing more to store.
  CHECK(count<store::PutPin>(e.announce({{"d", "kd"}, {"a", "kx"}})) == 0);

  store::Snapshot snapshot;
  snapshot.pins = {{"d", "kd"}, {"a", "ka"}};
  VerifyingNode restarted(10000, snapshot);
  CHECK(restarted.realm.state().routing().keys.at("a") == "ka");
  // A message signed by the pinned key is taken at once, not held for the key.
  CHECK(stored(restarted.realm.peer_frame("d", signed_by("ka", 1, 1))) == 1);
  // Another key announced for a after the restart does not replace the one pinned before.
  core::Outcome other = restarted.announce({{"d", "kd"}, {"a", "kx"}});
  CHECK(count<store::PutPin>(other) == 0);
  CHECK(restarted.realm.state().routing().keys.at("a") == "ka");
}

TEST_CASE("a key pinned in the settings (the config) wins over one pinned earlier and stored") {
  core::RealmSettings settings = VerifyingNode::settings(10000);
  settings.pinned_keys = {{"a", "kconfig"}};
  int tokens = 0;
  core::Realm realm(settings, VerifyingNode::environment(tokens));
  realm.set_public_key("ke");
  store::Snapshot snapshot;
  snapshot.pins = {{"a", "klearnt"}, {"e", "kforged"}};
  realm.load(snapshot);
  CHECK(realm.state().routing().keys.at("a") == "kconfig");
  CHECK(realm.state().routing().keys.at("e") == "ke");  // its own key is its own
}
