// The Store contract, run against SqliteStore, MemoryStore and PostgresStore so that all behave
// alike.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/memory_store.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "support/postgres_server.hpp"
#include "support/temp_dir.hpp"

using test_support::TempDir;

namespace chat::store {
namespace {

// A store and a way to restart it: a new SqliteStore on the same directory, or the same
// MemoryStore (it has nothing to reopen).
struct SqliteBackend {
  TempDir dir;
  std::unique_ptr<SqliteStore> store = std::make_unique<SqliteStore>(dir.path(), false);

  std::unique_ptr<SqliteStore> second;

  Store& current() { return *store; }
  Store& reopen() {
    store.reset();
    store = std::make_unique<SqliteStore>(dir.path(), false);
    return *store;
  }
  // Another process's store of the same realm, open at the same time.
  Store& rival() {
    if (!second) second = std::make_unique<SqliteStore>(dir.path(), false);
    return *second;
  }
};

// One realm of the shared test server per backend: realms share the tables (each row names its
// realm), so every test case starts empty.
struct PostgresBackend {
  std::string realm = next_realm();
  std::unique_ptr<PostgresStore> store =
      std::make_unique<PostgresStore>(test_support::shared_postgres().url(), realm);

  static std::string next_realm() {
    static int realms = 0;
    return "contract" + std::to_string(++realms);
  }
  std::unique_ptr<PostgresStore> second;

  Store& current() { return *store; }
  Store& reopen() {
    store.reset();
    store = std::make_unique<PostgresStore>(test_support::shared_postgres().url(), realm);
    return *store;
  }
  Store& rival() {
    if (!second)
      second = std::make_unique<PostgresStore>(test_support::shared_postgres().url(), realm);
    return *second;
  }
};

struct MemoryBackend {
  MemoryStore store;

  Store& current() { return store; }
  Store& reopen() { return store; }
  Store& rival() { return store; }
};

void commit(Store& store, const std::vector<Mutation>& batch) {
  store.commit(batch);
}

UserRecord user(const std::string& name) {
  return {name, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "Nama_" + name, "Indonesia"};
}

MessageRecord message(std::uint64_t id, const std::string& recipient) {
  return {
      id,   recipient, "messi", "alpha", "", "hello " + std::to_string(id), "2026-11-26T22:33:16Z",
      false};
}

OutboxRecord outbox_entry(std::uint64_t id, const std::string& peer) {
  return {id,
          7,
          peer,
          "private",
          "messi",
          "ronaldo",
          "hi " + std::to_string(id),
          "2026-11-26T22:33:17Z",
          id % 2 == 1 ? "alpha|7|3|2|1|0|0" : ""};
}

void check_user(const UserRecord& actual, const UserRecord& expected) {
  CHECK(actual.username == expected.username);
  CHECK(actual.password_hash == expected.password_hash);
  CHECK(actual.nama == expected.nama);
  CHECK(actual.negara == expected.negara);
}

void check_message(const MessageRecord& actual, const MessageRecord& expected) {
  CHECK(actual.id == expected.id);
  CHECK(actual.recipient == expected.recipient);
  CHECK(actual.sender == expected.sender);
  CHECK(actual.sender_realm == expected.sender_realm);
  CHECK(actual.group == expected.group);
  CHECK(actual.text == expected.text);
  CHECK(actual.time == expected.time);
  CHECK(actual.bounce == expected.bounce);
}

void check_outbox(const OutboxRecord& actual, const OutboxRecord& expected) {
  CHECK(actual.id == expected.id);
  CHECK(actual.epoch == expected.epoch);
  CHECK(actual.peer == expected.peer);
  CHECK(actual.kind == expected.kind);
  CHECK(actual.sender == expected.sender);
  CHECK(actual.target == expected.target);
  CHECK(actual.text == expected.text);
  CHECK(actual.time == expected.time);
  CHECK(actual.route == expected.route);  // a routed message's envelope
}

std::vector<std::uint64_t> unread_ids(const Snapshot& snapshot) {
  std::vector<std::uint64_t> ids;
  for (const MessageRecord& m : snapshot.unread) ids.push_back(m.id);
  return ids;
}

using Members = std::vector<std::string>;
using Seen = std::vector<std::pair<std::string, std::uint64_t>>;  // (origin, mark), epoch 7

Seen marks(const std::vector<SeenRecord>& seen) {
  Seen out;
  for (const SeenRecord& mark : seen) {
    CHECK(mark.epoch == 7);
    out.emplace_back(mark.origin, mark.id);
  }
  return out;
}
using Refused = std::vector<RefusedRecord>;
using Sessions = std::vector<SessionRecord>;

}  // namespace

TEST_CASE_TEMPLATE("a new store loads an empty snapshot", Backend, SqliteBackend, MemoryBackend,
                   PostgresBackend) {
  Backend backend;
  const Snapshot snapshot = backend.current().load();
  CHECK(snapshot.users.empty());
  CHECK(snapshot.groups.empty());
  CHECK(snapshot.unread.empty());
  CHECK(snapshot.outbox.empty());
  CHECK(snapshot.seen.empty());
  CHECK(snapshot.peers.empty());
  CHECK(snapshot.refused.empty());
  CHECK(snapshot.pins.empty());
  CHECK(snapshot.max_id == 0);
}

TEST_CASE_TEMPLATE("every mutation kind survives a restart", Backend, SqliteBackend, MemoryBackend,
                   PostgresBackend) {
  Backend backend;
  MessageRecord group_message = message(2, "henderson");
  group_message.group = "sepakbola";
  group_message.sender = "ronaldo";
  group_message.sender_realm = "beta";
  MessageRecord bounce = message(3, "messi");
  bounce.sender = "beta";
  bounce.sender_realm = "beta";
  bounce.bounce = true;

  commit(backend.current(), {
                                PutUser{user("messi")},
                                PutUser{user("henderson")},
                                PutGroup{"sepakbola"},
                                PutMember{"sepakbola", "messi"},
                                PutMember{"sepakbola", "henderson"},
                                PutMessage{message(1, "henderson")},
                                PutMessage{group_message},
                                PutMessage{bounce},
                                PutOutbox{outbox_entry(4, "beta")},
                                PutOutbox{outbox_entry(5, "gamma")},
                                PutSeen{{"beta", 7, 17, 17}},
                                PutPeer{{"beta", "127.0.0.1", 9890}},
                                PutRefused{{"gamma", 7, 2, "Group tidak ditemukan"}},
                                PutRefused{{"beta", 7, 9, "User tidak ditemukan"}},
                                PutRefused{{"beta", 7, 16, "User tidak ditemukan"}},
                            });
  commit(backend.current(), {
                                MarkFetched{{1}},
                                DeleteOutbox{"beta", 4},
                                PutSeen{{"gamma", 7, 3, 3}},
                                PutPeer{{"delta", "127.0.0.1", 9892}},
                                DeleteRefused{"beta", 7, 9},
                            });

  const Snapshot snapshot = backend.reopen().load();
  REQUIRE(snapshot.users.size() == 2);
  check_user(snapshot.users[0], user("messi"));
  check_user(snapshot.users[1], user("henderson"));
  REQUIRE(snapshot.groups.size() == 1);
  CHECK(snapshot.groups[0].name == "sepakbola");
  CHECK(snapshot.groups[0].members == Members{"messi", "henderson"});
  REQUIRE(snapshot.unread.size() == 2);
  check_message(snapshot.unread[0], group_message);
  check_message(snapshot.unread[1], bounce);
  REQUIRE(snapshot.outbox.size() == 1);
  check_outbox(snapshot.outbox[0], outbox_entry(5, "gamma"));
  CHECK(marks(snapshot.seen) == Seen{{"beta", 17}, {"gamma", 3}});
  REQUIRE(snapshot.peers.size() == 2);
  CHECK(snapshot.peers[0].name == "beta");
  CHECK(snapshot.peers[0].host == "127.0.0.1");
  CHECK(snapshot.peers[0].port == 9890);
  CHECK(snapshot.peers[1].name == "delta");
  CHECK(snapshot.peers[1].port == 9892);
  CHECK(snapshot.refused ==
        Refused{{"beta", 7, 16, "User tidak ditemukan"}, {"gamma", 7, 2, "Group tidak ditemukan"}});
  CHECK(snapshot.max_id == 5);
}

TEST_CASE_TEMPLATE("a failing batch applies nothing and the store stays usable", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(),
         {PutUser{user("messi")}, PutGroup{"sepakbola"}, PutMember{"sepakbola", "messi"},
          PutMessage{message(1, "messi")}, PutOutbox{outbox_entry(2, "beta")},
          PutSeen{{"beta", 7, 4, 4}}, PutPeer{{"beta", "127.0.0.1", 9890}},
          PutRefused{{"beta", 7, 3, "User tidak ditemukan"}}, PutSession{{"5e55", "messi"}}});

  const std::vector<Mutation> rejected = {
      PutUser{user("henderson")},
      PutGroup{"badminton"},
      PutMember{"sepakbola", "henderson"},
      PutMessage{message(10, "henderson")},
      MarkFetched{{1}},
      PutOutbox{outbox_entry(11, "gamma")},
      DeleteOutbox{"beta", 2},
      PutSeen{{"beta", 7, 9, 9}},
      PutPeer{{"beta", "10.0.0.1", 1}},
      PutRefused{{"beta", 7, 3, "Group tidak ditemukan"}},
      PutRefused{{"beta", 7, 8, "User tidak ditemukan"}},
      DeleteRefused{"beta", 7, 3},
      PutSession{{"c0ffee", "henderson"}},
      DeleteSession{"5e55"},
      PutUser{user("messi")},  // duplicate key: the whole batch fails
  };
  CHECK_THROWS_WITH_AS(backend.current().commit(rejected),
                       "UNIQUE constraint failed: users.username", StoreError);
  CHECK_THROWS_WITH_AS(commit(backend.current(), {PutGroup{"sepakbola"}}),
                       "UNIQUE constraint failed: groups.name", StoreError);
  CHECK_THROWS_WITH_AS(commit(backend.current(), {PutMember{"sepakbola", "messi"}}),
                       "UNIQUE constraint failed: members.group_name, members.username",
                       StoreError);
  CHECK_THROWS_WITH_AS(
      commit(backend.current(), {PutMessage{message(20, "messi")}, PutMessage{message(20, "x")}}),
      "UNIQUE constraint failed: messages.id", StoreError);
  CHECK_THROWS_WITH_AS(commit(backend.current(), {PutOutbox{outbox_entry(2, "gamma")}}),
                       "UNIQUE constraint failed: outbox.id", StoreError);

  Snapshot snapshot = backend.reopen().load();
  REQUIRE(snapshot.users.size() == 1);
  CHECK(snapshot.users[0].username == "messi");
  REQUIRE(snapshot.groups.size() == 1);
  CHECK(snapshot.groups[0].members == Members{"messi"});
  CHECK(unread_ids(snapshot) == std::vector<std::uint64_t>{1});
  REQUIRE(snapshot.outbox.size() == 1);
  CHECK(snapshot.outbox[0].id == 2);
  CHECK(marks(snapshot.seen) == Seen{{"beta", 4}});
  REQUIRE(snapshot.peers.size() == 1);
  CHECK(snapshot.peers[0].host == "127.0.0.1");
  CHECK(snapshot.refused == Refused{{"beta", 7, 3, "User tidak ditemukan"}});
  CHECK(snapshot.sessions == Sessions{{"5e55", "messi"}});
  CHECK(snapshot.max_id == 2);

  commit(backend.current(), {PutUser{user("henderson")}, PutMessage{message(10, "henderson")}});
  snapshot = backend.reopen().load();
  CHECK(snapshot.users.size() == 2);
  CHECK(unread_ids(snapshot) == std::vector<std::uint64_t>{1, 10});
  CHECK(snapshot.max_id == 10);
}

TEST_CASE_TEMPLATE("load_streaming hands each unread message once, by id, and holds none", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  // Every field set, and a long row before short ones: the store reuses one record for all
  // rows, so a field left over from the row before would show here.
  MessageRecord long_one = message(1, "henderson");
  long_one.sender = "a_sender_with_a_long_name";
  long_one.sender_realm = "beta";
  long_one.group = "sepakbola";
  long_one.text = std::string(300, 'x') + " \u00e9 \"quoted\"";
  long_one.time = "not a time at all, from a peer";
  long_one.bounce = true;
  long_one.history_id = 77;
  const MessageRecord short_one = message(2, "messi");
  const MessageRecord later = message(5, "henderson");
  commit(backend.current(), {PutMessage{long_one}, PutMessage{short_one}, PutMessage{later},
                             PutMessage{message(3, "messi")}});
  commit(backend.current(), {MarkFetched{{3}}});

  std::vector<MessageRecord> streamed;
  const Snapshot snapshot = backend.reopen().load_streaming(
      [&](const MessageRecord& record) { streamed.push_back(record); });
  CHECK(snapshot.unread.empty());
  REQUIRE(streamed.size() == 3);
  check_message(streamed[0], long_one);
  CHECK(streamed[0].history_id == 77);
  check_message(streamed[1], short_one);
  CHECK(streamed[1].history_id == 0);
  check_message(streamed[2], later);
  CHECK(snapshot.max_id == 5);
}

TEST_CASE_TEMPLATE("MarkFetched removes messages from the unread ones", Backend, SqliteBackend,
                   MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutMessage{message(1, "messi")}, PutMessage{message(2, "messi")},
                             PutMessage{message(3, "henderson")}});
  commit(backend.current(), {MarkFetched{{1, 3, 99}}});  // 99 does not exist: ignored
  CHECK(unread_ids(backend.current().load()) == std::vector<std::uint64_t>{2});

  commit(backend.current(), {MarkFetched{{1}}, PutMessage{message(4, "messi")}});
  const Snapshot snapshot = backend.reopen().load();
  CHECK(unread_ids(snapshot) == std::vector<std::uint64_t>{2, 4});
  CHECK(snapshot.max_id == 4);
}

TEST_CASE_TEMPLATE("unread texts and names come back byte for byte, escapes and all", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  // Each field a COPY line could split or unescape wrongly: tabs, newlines, backslashes
  // (also before letters COPY gives a meaning to: \N, \t), quotes, non-ASCII, an empty text.
  MessageRecord escaped = message(1, "messi");
  escaped.text =
      "tab\there\nline\\N back\\slash \\t \"quoted\" \r\v\f\b caf\xc3\xa9 \xf0\x9f\x98\x80";
  escaped.group = "grp\\x";
  MessageRecord empty = message(2, "henderson");
  empty.text = "";
  MessageRecord plain = message(3, "messi");
  commit(backend.current(), {PutMessage{escaped}, PutMessage{empty}, PutMessage{plain}});
  const Snapshot snapshot = backend.reopen().load();
  REQUIRE(snapshot.unread.size() == 3);
  CHECK(snapshot.unread[0] == escaped);
  CHECK(snapshot.unread[1] == empty);
  CHECK(snapshot.unread[2] == plain);
}

TEST_CASE_TEMPLATE("max_id never goes back", Backend, SqliteBackend, MemoryBackend,
                   PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutMessage{message(7, "messi")}, PutOutbox{outbox_entry(9, "beta")}});
  commit(backend.current(), {MarkFetched{{7}}, DeleteOutbox{"beta", 9}});

  Snapshot snapshot = backend.reopen().load();
  CHECK(snapshot.unread.empty());
  CHECK(snapshot.outbox.empty());
  CHECK(snapshot.max_id == 9);

  commit(backend.current(), {PutMessage{message(3, "messi")}});
  snapshot = backend.reopen().load();
  CHECK(unread_ids(snapshot) == std::vector<std::uint64_t>{3});
  CHECK(snapshot.max_id == 9);
}

TEST_CASE_TEMPLATE("DeleteOutbox needs both the peer and the id", Backend, SqliteBackend,
                   MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutOutbox{outbox_entry(1, "beta")}});
  commit(backend.current(), {DeleteOutbox{"gamma", 1}, DeleteOutbox{"beta", 2}});
  CHECK(backend.reopen().load().outbox.size() == 1);
}

TEST_CASE_TEMPLATE("groups load in creation order with members in join order", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutGroup{"zeta"}, PutMember{"zeta", "carol"}, PutGroup{"alpha"}});
  commit(backend.current(), {PutMember{"zeta", "alice"}, PutMember{"alpha", "bob"}});
  commit(backend.current(), {PutMember{"zeta", "bob"}, PutMember{"alpha", "alice"}});
  backend.reopen();
  commit(backend.current(), {PutMember{"zeta", "aaron"}});  // order continues after a restart

  const Snapshot snapshot = backend.reopen().load();
  REQUIRE(snapshot.groups.size() == 2);
  CHECK(snapshot.groups[0].name == "zeta");
  CHECK(snapshot.groups[0].members == Members{"carol", "alice", "bob", "aaron"});
  CHECK(snapshot.groups[1].name == "alpha");
  CHECK(snapshot.groups[1].members == Members{"bob", "alice"});
}

TEST_CASE_TEMPLATE("seen keeps the highest id per origin", Backend, SqliteBackend, MemoryBackend,
                   PostgresBackend) {
  Backend backend;
  commit(backend.current(),
         {PutSeen{{"gamma", 7, 2, 2}}, PutSeen{{"beta", 7, 5, 5}}, PutSeen{{"beta", 7, 3, 3}}});
  commit(backend.current(), {PutSeen{{"beta", 7, 4, 4}}});
  CHECK(marks(backend.reopen().load().seen) == Seen{{"beta", 5}, {"gamma", 2}});
  commit(backend.current(), {PutSeen{{"beta", 7, 8, 8}}});
  CHECK(marks(backend.reopen().load().seen) == Seen{{"beta", 8}, {"gamma", 2}});
}

TEST_CASE_TEMPLATE("refusals load by origin then id; DeleteRefused forgets one origin's oldest",
                   Backend, SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutRefused{{"gamma", 7, 5, "User tidak ditemukan"}},
                             PutRefused{{"beta", 7, 7, "User tidak ditemukan"}},
                             PutRefused{{"beta", 7, 2, "Group tidak ditemukan"}},
                             PutRefused{{"beta", 7, 4, "User tidak ditemukan"}}});
  CHECK(backend.reopen().load().refused == Refused{{"beta", 7, 2, "Group tidak ditemukan"},
                                                   {"beta", 7, 4, "User tidak ditemukan"},
                                                   {"beta", 7, 7, "User tidak ditemukan"},
                                                   {"gamma", 7, 5, "User tidak ditemukan"}});
  // Up to and including 4, of beta only; a second PutRefused of a key replaces its error.
  commit(backend.current(), {DeleteRefused{"beta", 7, 4}, DeleteRefused{"delta", 7, 99},
                             PutRefused{{"beta", 7, 7, "Group tidak ditemukan"}}});
  CHECK(backend.reopen().load().refused ==
        Refused{{"beta", 7, 7, "Group tidak ditemukan"}, {"gamma", 7, 5, "User tidak ditemukan"}});
}

TEST_CASE_TEMPLATE("dedup marks and refusals are kept per (origin, epoch)", Backend, SqliteBackend,
                   MemoryBackend, PostgresBackend) {
  Backend backend;
  // Epoch 9 of beta starts again at id 1 (a wiped store): its marks are not epoch 7's.
  commit(backend.current(), {PutSeen{{"beta", 7, 40, 100}}, PutSeen{{"beta", 9, 2, 101}},
                             PutRefused{{"beta", 7, 3, "User tidak ditemukan"}},
                             PutRefused{{"beta", 9, 3, "Group tidak ditemukan"}}});
  Snapshot snapshot = backend.reopen().load();
  CHECK(snapshot.seen == std::vector<SeenRecord>{{"beta", 7, 40, 100}, {"beta", 9, 2, 101}});
  CHECK(snapshot.refused ==
        Refused{{"beta", 7, 3, "User tidak ditemukan"}, {"beta", 9, 3, "Group tidak ditemukan"}});
  // A mark that moves takes the newer touch, so marks load least recently used first.
  commit(backend.current(), {PutSeen{{"beta", 7, 41, 102}}});
  snapshot = backend.reopen().load();
  CHECK(snapshot.seen == std::vector<SeenRecord>{{"beta", 9, 2, 101}, {"beta", 7, 41, 102}});
  // DeleteSeen forgets one epoch: its mark and its refusals, nothing of the other.
  commit(backend.current(), {DeleteSeen{"beta", 9}});
  snapshot = backend.reopen().load();
  CHECK(snapshot.seen == std::vector<SeenRecord>{{"beta", 7, 41, 102}});
  CHECK(snapshot.refused == Refused{{"beta", 7, 3, "User tidak ditemukan"}});
}

TEST_CASE_TEMPLATE("marks in one batch end as they would one commit after another", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutSeen{{"beta", 9, 10, 100}}});
  // A link's batch: a mark per message of one epoch (the highest id and the latest touch
  // win), and another epoch marked, forgotten and marked again within the batch.
  commit(backend.current(),
         {PutSeen{{"beta", 7, 3, 101}}, PutSeen{{"beta", 9, 2, 102}}, PutSeen{{"beta", 7, 5, 103}},
          DeleteSeen{"beta", 9}, PutSeen{{"beta", 7, 4, 104}}, PutSeen{{"beta", 9, 1, 105}}});
  CHECK(backend.reopen().load().seen ==
        std::vector<SeenRecord>{{"beta", 7, 5, 104}, {"beta", 9, 1, 105}});
  // A failing batch keeps none of its marks.
  commit(backend.current(), {PutUser{user("messi")}});
  const std::vector<Mutation> batch = {PutSeen{{"beta", 7, 6, 106}}, PutUser{user("messi")}};
  try {
    backend.current().commit(batch);
    FAIL("a duplicate user was stored");
  } catch (const MutationRejected& e) {
    CHECK(e.index == 1);
  }
  CHECK(backend.reopen().load().seen ==
        std::vector<SeenRecord>{{"beta", 7, 5, 104}, {"beta", 9, 1, 105}});
}

TEST_CASE_TEMPLATE("a mutation that can never be stored is named by its index", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutUser{user("messi")}});
  const std::vector<Mutation> batch = {PutGroup{"sepakbola"}, PutUser{user("messi")},
                                       PutGroup{"badminton"}};
  try {
    backend.current().commit(batch);
    FAIL("a duplicate user was stored");
  } catch (const MutationRejected& e) {
    CHECK(e.index == 1);
    CHECK(e.permanent);
  }
  // Nothing of the batch was applied; without the rejected one it commits.
  commit(backend.current(), {PutGroup{"sepakbola"}, PutGroup{"badminton"}});
  CHECK(backend.reopen().load().groups.size() == 2);
}

TEST_CASE_TEMPLATE("PutPeer replaces a peer by name and keeps its place", Backend, SqliteBackend,
                   MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(),
         {PutPeer{{"gamma", "127.0.0.1", 9891}}, PutPeer{{"beta", "127.0.0.1", 9890}}});
  commit(backend.current(), {PutPeer{{"gamma", "10.1.2.3", 7000}}});

  const Snapshot snapshot = backend.reopen().load();
  REQUIRE(snapshot.peers.size() == 2);
  CHECK(snapshot.peers[0].name == "gamma");
  CHECK(snapshot.peers[0].host == "10.1.2.3");
  CHECK(snapshot.peers[0].port == 7000);
  CHECK(snapshot.peers[1].name == "beta");
  CHECK(snapshot.peers[1].port == 9890);
}

TEST_CASE_TEMPLATE("the signing key: made once, kept across a restart", Backend, SqliteBackend,
                   MemoryBackend, PostgresBackend) {
  Backend backend;
  int made = 0;
  const auto make = [&made] {
    ++made;
    return "key" + std::to_string(made);
  };
  CHECK(backend.current().signing_key(make) == "key1");
  CHECK(backend.current().signing_key(make) == "key1");
  CHECK(backend.reopen().signing_key(make) == "key1");
  CHECK(made == 1);
}

TEST_CASE_TEMPLATE("the signing key: of two processes racing to make it, the first stored wins",
                   Backend, SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  // While this process makes its key, the other stores one: it is the one both keep.
  const std::string kept = backend.current().signing_key([&backend] {
    CHECK(backend.rival().signing_key([] { return std::string("rival's"); }) == "rival's");
    return std::string("mine");
  });
  CHECK(kept == "rival's");
  CHECK(backend.rival().signing_key([] { return std::string("another"); }) == "rival's");
  CHECK(backend.reopen().signing_key([] { return std::string("another"); }) == "rival's");
}

TEST_CASE_TEMPLATE(
    "pins: the first key pinned for a realm is kept, in pinning order, across a "
    "restart",
    Backend, SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  const std::string gamma_key(64, 'c'), beta_key(64, 'b'), other_key(64, 'f');
  commit(backend.current(), {PutPin{{"gamma", gamma_key}}, PutPin{{"beta", beta_key}}});
  // A second pin for a realm, in a later batch or the same one, changes nothing.
  commit(backend.current(),
         {PutPin{{"beta", other_key}}, PutPin{{"delta", other_key}}, PutPin{{"delta", beta_key}}});

  CHECK(backend.reopen().load().pins ==
        std::vector<PinRecord>{{"gamma", gamma_key}, {"beta", beta_key}, {"delta", other_key}});
}

TEST_CASE_TEMPLATE("a pin in a failing batch is not kept", Backend, SqliteBackend, MemoryBackend,
                   PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutUser{user("messi")}});
  CHECK_THROWS_AS(
      commit(backend.current(), {PutPin{{"beta", std::string(64, 'b')}}, PutUser{user("messi")}}),
      MutationRejected);
  CHECK(backend.reopen().load().pins.empty());
}

TEST_CASE_TEMPLATE("sessions load in creation order; DeleteSession forgets one, in batch order",
                   Backend, SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutSession{{"aa", "messi"}}, PutSession{{"bb", "henderson"}},
                             PutSession{{"cc", "messi"}}});
  // Within one batch the order holds: a session made and ended by pipelined requests is gone.
  commit(backend.current(),
         {DeleteSession{"aa"}, PutSession{{"dd", "lineker"}}, DeleteSession{"dd"},
          DeleteSession{"zz"}, PutSession{{"ee", "messi"}}});
  CHECK(backend.reopen().load().sessions ==
        Sessions{{"bb", "henderson"}, {"cc", "messi"}, {"ee", "messi"}});
}

}  // namespace chat::store

// --- history (docs/protocol.md "History"): PutHistory, the readers, retention ---

namespace chat::store {
namespace {

HistoryRecord history_message(std::uint64_t id, const std::string& conversation,
                              const std::string& time = "2026-11-26T22:33:16Z") {
  return {id,   conversation, "messi", "alpha", "henderson", "", "text " + std::to_string(id),
          time, false};
}

HistoryQuery page_query(std::string conversation, std::uint64_t before, std::size_t limit) {
  HistoryQuery query;
  query.conversation = std::move(conversation);
  query.before = before;
  query.limit = limit;
  return query;
}

// Makes every message stored so far findable by conversation (SqliteStore indexes in bulk).
void index_up_to(Store& store, std::uint64_t id) {
  store.commit(std::vector<Mutation>{IndexHistory{id}});
}

std::vector<std::uint64_t> page_ids(const HistoryPage& page) {
  std::vector<std::uint64_t> ids;
  for (const HistoryRecord& m : page.messages) ids.push_back(m.id);
  return ids;
}

std::vector<std::uint64_t> id_range(std::uint64_t first, std::uint64_t last, std::uint64_t step) {
  std::vector<std::uint64_t> ids;
  for (std::uint64_t id = first; id <= last; id += step) ids.push_back(id);
  return ids;
}

}  // namespace

TEST_CASE_TEMPLATE("history pages by id: newest LIMIT below BEFORE, oldest first, with more",
                   Backend, SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  std::vector<Mutation> batch;
  // Two conversations interleaved: odd ids in u/a/b, even ids in g/kominfo.
  for (std::uint64_t id = 1; id <= 240; ++id) {
    batch.push_back(PutHistory{history_message(id, id % 2 == 1 ? "u/a/b" : "g/kominfo")});
  }
  commit(backend.current(), batch);
  index_up_to(backend.current(), 240);
  bool memory_map = true;  // HistoryReaderOptions: the same pages either way
  SUBCASE("read through a memory map") {}
  SUBCASE("read without one") {
    memory_map = false;
  }
  auto reader = backend.current().open_history_reader({.memory_map = memory_map});

  HistoryPage newest = reader->read_history(page_query("u/a/b", 0, 50));
  CHECK(page_ids(newest) == id_range(141, 239, 2));
  CHECK(newest.more);
  CHECK(newest.messages.front() == history_message(141, "u/a/b"));

  HistoryPage older = reader->read_history(page_query("u/a/b", 141, 50));
  CHECK(page_ids(older) == id_range(41, 139, 2));
  CHECK(older.more);
  HistoryPage oldest = reader->read_history(page_query("u/a/b", 41, 50));
  CHECK(page_ids(oldest) == id_range(1, 39, 2));
  CHECK_FALSE(oldest.more);

  // Exactly LIMIT left: no more. A BEFORE that is no id of the conversation works too.
  HistoryPage exact = reader->read_history(page_query("u/a/b", 40, 20));
  CHECK(page_ids(exact) == id_range(1, 39, 2));
  CHECK_FALSE(exact.more);
  CHECK(page_ids(reader->read_history(page_query("g/kominfo", 7, 500))) ==
        (std::vector<std::uint64_t>{2, 4, 6}));
  CHECK(reader->read_history(page_query("g/kominfo", 2, 50)).messages.empty());
  CHECK(reader->read_history(page_query("u/nobody/else", 0, 50)).messages.empty());
  CHECK(page_ids(reader->read_history(page_query("g/kominfo", 0, 1))) ==
        std::vector<std::uint64_t>{240});
}

TEST_CASE_TEMPLATE("history survives a restart; load gives each conversation's newest and count",
                   Backend, SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  MessageRecord group_entry = message(11, "henderson");
  group_entry.group = "kominfo";
  group_entry.history_id = 10;
  commit(backend.current(),
         {PutHistory{history_message(10, "g/kominfo", "2026-11-26T10:00:00Z")},
          PutMessage{group_entry}, PutHistory{history_message(12, "u/a/b", "2026-11-26T11:00:00Z")},
          PutHistory{history_message(14, "u/a/b", "2026-11-26T12:00:00Z")}});
  commit(backend.current(), {MarkFetched{{11}}, PutMessage{message(15, "messi")}});

  // Nothing was indexed: load() does it.
  const Snapshot snapshot = backend.reopen().load();
  REQUIRE(snapshot.unread.size() == 1);
  CHECK(snapshot.unread[0].id == 15);
  CHECK(snapshot.unread[0].shown_id() == 15);
  std::vector<ConversationSummary> conversations = snapshot.conversations;
  std::sort(conversations.begin(), conversations.end(),
            [](const auto& a, const auto& b) { return a.conversation < b.conversation; });
  CHECK(conversations ==
        std::vector<ConversationSummary>{{"g/kominfo", 10, "2026-11-26T10:00:00Z", 1},
                                         {"u/a/b", 14, "2026-11-26T12:00:00Z", 2}});
  CHECK(snapshot.max_id == 15);
  // A fetched message stays in history.
  auto reader = backend.current().open_history_reader();
  CHECK(page_ids(reader->read_history(page_query("g/kominfo", 0, 50))) ==
        std::vector<std::uint64_t>{10});
}

TEST_CASE_TEMPLATE("an unread group entry keeps the history id it points at", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  MessageRecord entry = message(21, "henderson");
  entry.group = "kominfo";
  entry.history_id = 20;
  commit(backend.current(), {PutMessage{entry}});
  const Snapshot snapshot = backend.reopen().load();
  REQUIRE(snapshot.unread.size() == 1);
  CHECK(snapshot.unread[0].history_id == 20);
  CHECK(snapshot.unread[0].shown_id() == 20);
}

TEST_CASE_TEMPLATE("a group message is an inbox row per delivery, all of one record", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  MessageRecord shared = message(0, "");
  shared.sender = "ronaldo";
  shared.sender_realm = "beta";
  shared.group = "kominfo";
  shared.text = "rapat\tjam 9 \\ \"semua\"";
  shared.history_id = 20;
  commit(backend.current(),
         {PutMessage{message(19, "messi")},
          PutGroupMessage{shared, {{21, "henderson"}, {22, "messi"}, {23, "lineker"}}}});
  // One delivery's id is taken: the whole batch fails, none of its rows is kept.
  CHECK_THROWS_AS(commit(backend.current(), {PutGroupMessage{shared, {{24, "a"}, {19, "b"}}}}),
                  StoreError);
  const Snapshot snapshot = backend.reopen().load();
  CHECK(unread_ids(snapshot) == std::vector<std::uint64_t>{19, 21, 22, 23});
  const std::vector<std::string> recipients = {"henderson", "messi", "lineker"};
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    MessageRecord expected = shared;
    expected.id = 21 + i;
    expected.recipient = recipients[i];
    check_message(snapshot.unread[1 + i], expected);
    CHECK(snapshot.unread[1 + i].history_id == 20);
  }
  CHECK(snapshot.max_id == 23);
}

TEST_CASE_TEMPLATE("retention by age looks at the oldest `scan` messages only", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(), {PutHistory{history_message(1, "u/a/b", "2026-01-01T00:00:00Z")},
                             PutHistory{history_message(2, "g/x", "2026-01-02T00:00:00Z")},
                             PutHistory{history_message(3, "u/a/b", "2026-06-01T00:00:00Z")},
                             PutHistory{history_message(4, "u/a/b", "2026-01-03T00:00:00Z")}});
  index_up_to(backend.current(), 4);
  commit(backend.current(), {PruneHistory{"2026-03-01T00:00:00Z", 3}});
  auto reader = backend.current().open_history_reader();
  // 1 and 2 expired; 3 is recent; 4 expired but beyond the scan.
  CHECK(page_ids(reader->read_history(page_query("u/a/b", 0, 50))) ==
        std::vector<std::uint64_t>{3, 4});
  CHECK(reader->read_history(page_query("g/x", 0, 50)).messages.empty());
  commit(backend.current(), {PruneHistory{"2026-03-01T00:00:00Z", 3}});
  CHECK(page_ids(reader->read_history(page_query("u/a/b", 0, 50))) ==
        std::vector<std::uint64_t>{3});
  // Pruned ids are never handed out again.
  CHECK(backend.reopen().load().max_id == 4);
}

TEST_CASE_TEMPLATE("retention by age reaches messages not indexed yet", Backend, SqliteBackend,
                   MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(),
         {PutHistory{history_message(1, "u/a/b", "2026-01-01T00:00:00Z")},
          PutHistory{history_message(2, "u/a/b", "2026-01-02T00:00:00Z")}, IndexHistory{1},
          PutHistory{history_message(3, "u/a/b", "2026-06-01T00:00:00Z")}});
  commit(backend.current(), {PruneHistory{"2026-03-01T00:00:00Z", 10}});
  auto reader = backend.current().open_history_reader();
  HistoryQuery query = page_query("u/a/b", 0, 50);
  query.indexed_up_to = 1;
  query.recent = {2, 3};
  CHECK(page_ids(reader->read_history(query)) == std::vector<std::uint64_t>{3});
  commit(backend.current(), {IndexHistory{3}});
  CHECK(page_ids(reader->read_history(page_query("u/a/b", 0, 50))) ==
        std::vector<std::uint64_t>{3});
}

TEST_CASE_TEMPLATE("retention by count keeps a conversation's newest messages", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  std::vector<Mutation> batch;
  for (std::uint64_t id = 1; id <= 10; ++id) {
    batch.push_back(PutHistory{history_message(id, id <= 6 ? "u/a/b" : "g/x")});
  }
  commit(backend.current(), batch);
  index_up_to(backend.current(), 5);  // the trim indexes the rest itself
  commit(backend.current(), {TrimConversation{"u/a/b", 4}, TrimConversation{"g/x", 9}});
  auto reader = backend.current().open_history_reader();
  CHECK(page_ids(reader->read_history(page_query("u/a/b", 0, 50))) ==
        std::vector<std::uint64_t>{3, 4, 5, 6});
  CHECK(page_ids(reader->read_history(page_query("g/x", 0, 50))) ==
        std::vector<std::uint64_t>{7, 8, 9, 10});
  commit(backend.current(), {TrimConversation{"u/a/b", 0}});
  CHECK(reader->read_history(page_query("u/a/b", 0, 50)).messages.empty());
}

TEST_CASE_TEMPLATE("a failing batch leaves history as it was", Backend, SqliteBackend,
                   MemoryBackend, PostgresBackend) {
  Backend backend;
  commit(backend.current(),
         {PutUser{user("messi")}, PutHistory{history_message(1, "u/a/b", "2026-01-01T00:00:00Z")},
          PutHistory{history_message(2, "u/a/b")}, IndexHistory{2}});
  const std::vector<Mutation> rejected = {
      PutHistory{history_message(3, "g/x")},
      IndexHistory{3},
      PruneHistory{"2026-03-01T00:00:00Z", 10},
      TrimConversation{"u/a/b", 0},
      PutUser{user("messi")},  // duplicate key: the whole batch fails
  };
  CHECK_THROWS_WITH_AS(backend.current().commit(rejected),
                       "UNIQUE constraint failed: users.username", StoreError);
  // An id stored before is refused for good (each store in its own words: SqliteStore refuses
  // any id not above the last one stored).
  try {
    commit(backend.current(), {PutHistory{history_message(2, "g/x")}});
    FAIL("a history id was stored twice");
  } catch (const StoreError& e) {
    CHECK(e.permanent);
  }
  auto reader = backend.current().open_history_reader();
  CHECK(page_ids(reader->read_history(page_query("u/a/b", 0, 50))) ==
        std::vector<std::uint64_t>{1, 2});
  CHECK(reader->read_history(page_query("g/x", 0, 50)).messages.empty());
}

TEST_CASE_TEMPLATE("a reader on another thread sees every commit that returned before its read",
                   Backend, SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  Store& store = backend.current();
  auto reader = store.open_history_reader();
  std::atomic<std::uint64_t> committed{0};
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::uint64_t id = 1; id <= 300; ++id) {
      store.commit(
          std::vector<Mutation>{PutHistory{history_message(id, "u/a/b")}, IndexHistory{id}});
      committed = id;
    }
    done = true;
  });
  std::size_t reads = 0;
  bool consistent = true;
  while (!done || reads == 0) {
    const std::uint64_t before_read = committed;
    HistoryPage page = reader->read_history(page_query("u/a/b", 0, 10));
    const std::uint64_t newest = page.messages.empty() ? 0 : page.messages.back().id;
    if (newest < before_read) consistent = false;
    for (std::size_t i = 1; i < page.messages.size(); ++i) {
      if (page.messages[i].id != page.messages[i - 1].id + 1) consistent = false;
    }
    ++reads;
  }
  writer.join();
  CHECK(consistent);
  CHECK(page_ids(reader->read_history(page_query("u/a/b", 0, 3))) ==
        std::vector<std::uint64_t>{298, 299, 300});
}

TEST_CASE_TEMPLATE("messages not indexed yet are found through the query's recent ids", Backend,
                   SqliteBackend, MemoryBackend, PostgresBackend) {
  Backend backend;
  std::vector<Mutation> batch;
  for (std::uint64_t id = 1; id <= 20; ++id) {
    batch.push_back(PutHistory{history_message(id, id % 2 == 1 ? "u/a/b" : "g/x")});
  }
  batch.push_back(IndexHistory{10});
  for (std::uint64_t id = 21; id <= 30; ++id) {
    batch.push_back(PutHistory{history_message(id, id % 2 == 1 ? "u/a/b" : "g/x")});
  }
  commit(backend.current(), batch);
  bool memory_map = true;
  SUBCASE("read through a memory map") {}
  SUBCASE("read without one") {
    memory_map = false;
  }
  auto reader = backend.current().open_history_reader({.memory_map = memory_map});
  // Indexed up to 10; 11..29 (odd) are the conversation's recent ones.
  const std::vector<std::uint64_t> recent = {11, 13, 15, 17, 19, 21, 23, 25, 27, 29};
  HistoryPage page = reader->read_history({"u/a/b", 0, 4, 10, {23, 25, 27, 29}});
  CHECK(page_ids(page) == std::vector<std::uint64_t>{23, 25, 27, 29});
  CHECK(page.more);
  page = reader->read_history({"u/a/b", 0, 12, 10, recent});
  CHECK(page_ids(page) == id_range(7, 29, 2));
  CHECK(page.more);
  page = reader->read_history({"u/a/b", 14, 50, 10, {11, 13}});
  CHECK(page_ids(page) == id_range(1, 13, 2));
  CHECK_FALSE(page.more);
  // A later IndexHistory: what the query still lists as recent is not returned twice.
  commit(backend.current(), {IndexHistory{30}});
  page = reader->read_history({"u/a/b", 0, 50, 10, recent});
  CHECK(page_ids(page) == id_range(1, 29, 2));
  CHECK(page_ids(reader->read_history(page_query("u/a/b", 0, 50))) == id_range(1, 29, 2));
  // Each read sees every commit before it: a page's read transaction ends with the page.
  commit(backend.current(), {PutHistory{history_message(31, "u/a/b")}, IndexHistory{31}});
  CHECK(page_ids(reader->read_history(page_query("u/a/b", 0, 2))) ==
        std::vector<std::uint64_t>{29, 31});
}

}  // namespace chat::store
