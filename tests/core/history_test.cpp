// history and conversations (docs/contract.md §3.1) against the pure realm logic: the handler asks
// for a page (Outcome::history), the test reads it from a MemoryStore as realmd's readers do.
#include "core/history.hpp"

#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "core/realm.hpp"
#include "store/memory_store.hpp"
#include "test_environment.hpp"

using namespace chat;
using core::Connection;

namespace {

core::RealmSettings alpha_settings(core::HistoryRetention retention = {}) {
  core::RealmSettings s;
  s.name = "alpha";
  s.retention = retention;
  return s;
}

// One realm whose mutations go to a MemoryStore; replies are written (their inbox ids fetched).
class Harness {
 public:
  explicit Harness(core::RealmSettings settings = alpha_settings())
      : realm_(std::move(settings), core::testing::test_environment(tokens_)) {}

  std::string run(Connection& conn, std::string_view line) {
    core::Outcome out = realm_.handle(conn, line);
    if (out.password) {
      commit(out);
      const core::PasswordJob& job = *out.password;
      const bool ok =
          job.kind == core::PasswordJob::Kind::hash || job.hash == "fake$" + job.password;
      out = realm_.resume(conn, {ok, "fake$" + job.password});
    }
    commit(out);
    commit_all(realm_.reply_written(out.fetched_after_write));
    if (out.history) {
      CHECK(out.reply.empty());
      last_query = *out.history;
      return core::history_reply(store.open_history_reader()->read_history(*out.history));
    }
    return out.reply;
  }

  void commit(core::Outcome& out) { commit_all(out.mutations); }
  void commit_all(const std::vector<store::Mutation>& mutations) { store.commit(mutations); }
  core::Realm& realm() { return realm_; }

  store::MemoryStore store;
  store::HistoryQuery last_query;

 private:
  int tokens_ = 0;
  core::Realm realm_;
};

std::string error(std::string_view message) {
  return std::string(R"({"status":"ERROR","message":")") + std::string(message) + "\"}";
}
const std::string bad_parameter = error("Parameter salah / tidak ada");
const std::string empty_page = R"({"status":"OK","messages":[],"more":false})";

std::string msg(std::uint64_t id, std::string_view from, std::string_view to, std::string_view text,
                std::string_view group = {}) {
  std::string out = R"({"id":)" + std::to_string(id) + R"(,"msg_from":")" + std::string(from) +
                    R"(","msg_to":")" + std::string(to) + R"(","msg":")" + std::string(text) +
                    R"(","realm":"alpha","time":"2026-11-26T22:33:16Z")";
  if (!group.empty()) out += R"(,"group":")" + std::string(group) + "\"";
  return out + "}";
}

std::string page(const std::vector<std::string>& messages, bool more) {
  std::string out = R"({"status":"OK","messages":[)";
  for (std::size_t i = 0; i < messages.size(); ++i) out += (i ? "," : "") + messages[i];
  return out + R"(],"more":)" + (more ? "true" : "false") + "}";
}

struct World {
  Harness h;
  Connection messi{1}, henderson{2}, lineker{3}, anon{4};
  explicit World(core::RealmSettings settings = alpha_settings()) : h(std::move(settings)) {
    h.run(messi, "register messi surabaya Lionel_Messi Argentina");
    h.run(henderson, "register henderson surabaya Jordan_Henderson Inggris");
    h.run(lineker, "register lineker surabaya Gary_Lineker Inggris");
  }
};

}  // namespace

TEST_CASE("history user: both directions, newest LIMIT below BEFORE, oldest first, more") {
  World w;
  for (int i = 1; i <= 6; ++i) {
    Connection& from = i % 3 == 0 ? w.henderson : w.messi;
    std::string to = i % 3 == 0 ? "messi" : "henderson";
    w.h.run(from, "send " + to + " m" + std::to_string(i));
  }
  w.h.run(w.lineker, "send messi not_in_this_conversation");

  CHECK(w.h.run(w.messi, "history user henderson") ==
        page({msg(1, "messi", "henderson", "m1"), msg(2, "messi", "henderson", "m2"),
              msg(3, "henderson", "messi", "m3"), msg(4, "messi", "henderson", "m4"),
              msg(5, "messi", "henderson", "m5"), msg(6, "henderson", "messi", "m6")},
             false));
  CHECK(w.h.last_query.limit == 50);
  // The same conversation seen from the other side.
  CHECK(w.h.run(w.henderson, "history user messi 2") ==
        page({msg(5, "messi", "henderson", "m5"), msg(6, "henderson", "messi", "m6")}, true));
  CHECK(w.h.run(w.henderson, "history user messi 2 5") ==
        page({msg(3, "henderson", "messi", "m3"), msg(4, "messi", "henderson", "m4")}, true));
  CHECK(w.h.run(w.henderson, "history user messi 2 3") ==
        page({msg(1, "messi", "henderson", "m1"), msg(2, "messi", "henderson", "m2")}, false));
  CHECK(w.h.run(w.henderson, "history user messi 500 1") == empty_page);
}

TEST_CASE("history: LIMIT 1..500 and BEFORE an id, else a parameter error before the session") {
  World w;
  w.h.run(w.messi, "send henderson hi");
  for (const char* line :
       {"history", "history user", "history user henderson 0", "history user henderson 501",
        "history user henderson -1", "history user henderson 1x", "history user henderson 10 0",
        "history user henderson 10 abc", "history user henderson 10 5 7", "history users henderson",
        "history USER henderson", "history user bad/name", "history realm beta",
        "history realm beta jokowi 10 5 1", "history group", "history realm bad! jokowi",
        "history user henderson 99999999999999999999"}) {
    CAPTURE(line);
    CHECK(w.h.run(w.messi, line) == bad_parameter);
    CHECK(w.h.run(w.anon, line) == bad_parameter);  // parameters are checked first
  }
  CHECK(w.h.run(w.anon, "history user henderson") == error("Session tidak ditemukan"));
  CHECK(w.h.run(w.anon, "conversations") == error("Session tidak ditemukan"));
  CHECK(w.h.run(w.messi, "conversations extra") == bad_parameter);
  CHECK(w.h.run(w.messi, "HISTORY user henderson 500 9223372036854775807") ==
        page({msg(1, "messi", "henderson", "hi")}, false));
  CHECK(w.h.run(w.messi, "history user henderson 1") ==
        page({msg(1, "messi", "henderson", "hi")}, false));
  CHECK(w.h.run(w.messi, "history user nobody") == error("User tidak ditemukan"));
  CHECK(w.h.run(w.messi, "history user lineker") == empty_page);
}

TEST_CASE("history group: members only, the caller's own messages included, stored once") {
  World w;
  w.h.run(w.messi, "addgroup kominfo");
  w.h.run(w.henderson, "joingroup kominfo");
  CHECK(w.h.run(w.messi, "sendgroup kominfo rapat jam 9") ==
        R"({"status":"OK","message":"Message sent to group"})");
  w.h.run(w.henderson, "sendgroup kominfo siap");

  const std::string expected = page({msg(1, "messi", "kominfo", "rapat jam 9", "kominfo"),
                                     msg(3, "henderson", "kominfo", "siap", "kominfo")},
                                    false);
  CHECK(w.h.run(w.messi, "history group kominfo") == expected);
  CHECK(w.h.run(w.henderson, "history group kominfo") == expected);
  CHECK(w.h.run(w.lineker, "history group kominfo") == error("User bukan anggota group"));
  CHECK(w.h.run(w.lineker, "history group nothing") == error("Group tidak ditemukan"));
  // The inbox shows a group message under its history id.
  CHECK(w.h.run(w.henderson, "inbox") ==
        R"({"status":"OK","messages":{"messi":[)" +
            msg(1, "messi", "henderson", "rapat jam 9", "kominfo") + "]}}");
  // One history row per group message, one inbox entry per other member.
  const store::Snapshot snapshot = w.h.store.load();
  REQUIRE(snapshot.conversations.size() == 1);
  CHECK(snapshot.conversations[0].conversation == "g/kominfo");
  CHECK(snapshot.conversations[0].count == 2);
  REQUIRE(snapshot.unread.size() == 1);  // messi's copy of "siap"
  CHECK(snapshot.unread[0].shown_id() == 3);
}

TEST_CASE("conversations: the caller's only, newest first, with unread counts") {
  World w;
  w.h.run(w.messi, "addgroup kominfo");
  w.h.run(w.henderson, "joingroup kominfo");
  w.h.run(w.messi, "send henderson satu");      // 1
  w.h.run(w.messi, "send henderson dua");       // 2
  w.h.run(w.lineker, "send messi lain");        // 3
  w.h.run(w.messi, "sendgroup kominfo rapat");  // 4 (henderson's entry 5)
  w.h.run(w.henderson, "send lineker tiga");    // 6

  CHECK(
      w.h.run(w.henderson, "conversations") ==
      R"({"status":"OK","conversations":[{"kind":"user","name":"lineker","realm":"alpha","last_id":6,"last_time":"2026-11-26T22:33:16Z","unread":0},{"kind":"group","name":"kominfo","realm":"alpha","last_id":4,"last_time":"2026-11-26T22:33:16Z","unread":1},{"kind":"user","name":"messi","realm":"alpha","last_id":2,"last_time":"2026-11-26T22:33:16Z","unread":2}]})");
  // Reading history marks nothing read; inbox does.
  w.h.run(w.henderson, "history user messi");
  w.h.run(w.henderson, "history group kominfo");
  CHECK(w.h.run(w.henderson, "conversations").find(R"("unread":2)") != std::string::npos);
  w.h.run(w.henderson, "inbox");
  CHECK(w.h.run(w.henderson, "conversations").find(R"("unread":0}]})") != std::string::npos);
  CHECK(w.h.run(w.henderson, "conversations").find(R"("unread":1)") == std::string::npos);
  // A user never sees a conversation they are not part of: lineker is in two, not the group.
  CHECK(
      w.h.run(w.lineker, "conversations") ==
      R"({"status":"OK","conversations":[{"kind":"user","name":"henderson","realm":"alpha","last_id":6,"last_time":"2026-11-26T22:33:16Z","unread":1},{"kind":"user","name":"messi","realm":"alpha","last_id":3,"last_time":"2026-11-26T22:33:16Z","unread":0}]})");
  CHECK(w.h.run(w.lineker, "history user henderson") ==
        page({msg(6, "henderson", "lineker", "tiga")}, false));
}

TEST_CASE("history and conversations survive a restart; ids continue") {
  World w;
  w.h.run(w.messi, "send henderson sebelum");
  w.h.run(w.henderson, "inbox");  // fetched: gone from the inbox, kept in history

  int tokens = 100;
  core::Realm restarted(alpha_settings(), core::testing::test_environment(tokens));
  restarted.load(w.h.store.load());
  Connection henderson{9};
  core::Outcome out = restarted.handle(henderson, "auth henderson surabaya");
  REQUIRE(out.password);
  const std::string hash = "fake$surabaya";
  out = restarted.resume(henderson, {out.password->hash == hash, {}});
  out = restarted.handle(henderson, "conversations");
  CHECK(
      out.reply ==
      R"({"status":"OK","conversations":[{"kind":"user","name":"messi","realm":"alpha","last_id":1,"last_time":"2026-11-26T22:33:16Z","unread":0}]})");
  out = restarted.handle(henderson, "history user messi");
  REQUIRE(out.history);
  CHECK(core::history_reply(w.h.store.open_history_reader()->read_history(*out.history)) ==
        page({msg(1, "messi", "henderson", "sebelum")}, false));
  out = restarted.handle(henderson, "send messi sesudah");
  bool new_id = false;
  for (const store::Mutation& m : out.mutations) {
    if (const auto* put = std::get_if<store::PutHistory>(&m)) new_id = put->message.id == 2;
  }
  CHECK(new_id);
}

TEST_CASE("after a restart streamed from the store, inbox and conversations answer as before") {
  World w;
  w.h.run(w.messi, "addgroup kominfo");
  w.h.run(w.henderson, "joingroup kominfo");
  w.h.run(w.messi, "send henderson satu");      // 1
  w.h.run(w.lineker, "send henderson dua");     // 2
  w.h.run(w.henderson, "inbox");                // 1 and 2 fetched: not unread after it
  w.h.run(w.messi, "send henderson tiga");      // 3
  w.h.run(w.messi, "sendgroup kominfo rapat");  // 4 (henderson's entry 5)
  w.h.run(w.lineker, "send henderson empat");   // 6
  w.h.run(w.henderson, "send messi lima");      // 7, messi's inbox
  // The replies before the restart, lost: what they hand out stays unread.
  auto ask = [](core::Realm& realm, Connection& conn, std::string_view line) {
    core::Outcome out = realm.handle(conn, line);
    realm.reply_lost(out.fetched_after_write);
    return out.reply;
  };
  const std::string henderson_inbox = ask(w.h.realm(), w.henderson, "inbox");
  CHECK(henderson_inbox ==
        R"({"status":"OK","messages":{"messi":[)" + msg(3, "messi", "henderson", "tiga") + "," +
            msg(4, "messi", "henderson", "rapat", "kominfo") + R"(],"lineker":[)" +
            msg(6, "lineker", "henderson", "empat") + "]}}");
  const std::string messi_inbox = ask(w.h.realm(), w.messi, "inbox");
  CHECK(messi_inbox == R"({"status":"OK","messages":{"henderson":[)" +
                           msg(7, "henderson", "messi", "lima") + "]}}");
  const std::string conversations = ask(w.h.realm(), w.henderson, "conversations");

  int tokens = 100;
  core::Realm restarted(alpha_settings(), core::testing::test_environment(tokens));
  std::vector<std::uint64_t> streamed;
  const store::Snapshot snapshot =
      w.h.store.load_streaming([&](const store::MessageRecord& message) {
        streamed.push_back(message.id);
        restarted.load_unread(message);
      });
  restarted.load(snapshot);
  CHECK(streamed == std::vector<std::uint64_t>{3, 5, 6, 7});
  Connection henderson{9}, messi{10};
  for (auto [conn, name] : {std::pair{&henderson, "henderson"}, std::pair{&messi, "messi"}}) {
    core::Outcome out = restarted.handle(*conn, std::string("auth ") + name + " surabaya");
    REQUIRE(out.password);
    restarted.resume(*conn, {out.password->hash == "fake$surabaya", {}});
  }
  CHECK(ask(restarted, henderson, "inbox") == henderson_inbox);
  CHECK(ask(restarted, messi, "inbox") == messi_inbox);
  CHECK(ask(restarted, henderson, "conversations") == conversations);
}

TEST_CASE("retention by count: each conversation keeps its newest, trimmed in bounded passes") {
  World w(alpha_settings({.max_age_days = 0, .max_per_conversation = 3, .batch = 2}));
  for (int i = 1; i <= 7; ++i) w.h.run(w.messi, "send henderson m" + std::to_string(i));
  w.h.run(w.messi, "send lineker x");

  core::Outcome pass = w.h.realm().retention_pass({});
  REQUIRE(pass.mutations.size() == 1);  // at most `batch` (2) messages per pass
  const auto* trim = std::get_if<store::TrimConversation>(&pass.mutations[0]);
  REQUIRE(trim != nullptr);
  CHECK(trim->conversation == "u/henderson/messi");
  CHECK(trim->keep == 5);
  w.h.commit(pass);
  pass = w.h.realm().retention_pass({});
  w.h.commit(pass);
  CHECK(w.h.realm().retention_pass({}).mutations.empty());  // nothing over the limit now
  CHECK(w.h.run(w.messi, "history user henderson") ==
        page({msg(5, "messi", "henderson", "m5"), msg(6, "messi", "henderson", "m6"),
              msg(7, "messi", "henderson", "m7")},
             false));
  CHECK(w.h.run(w.messi, "history user lineker") == page({msg(8, "messi", "lineker", "x")}, false));
  // The unread inbox is not history: every message is still unread.
  CHECK(w.h.store.load().unread.size() == 8);
}

TEST_CASE("retention by age: a pass asks the store to prune the oldest, bounded") {
  World keep_all;
  CHECK(keep_all.h.realm().retention_pass("2026-11-01T00:00:00Z").mutations.empty());

  World w(alpha_settings({.max_age_days = 30, .max_per_conversation = 0, .batch = 500}));
  w.h.run(w.messi, "send henderson lama");
  core::Outcome pass = w.h.realm().retention_pass("2026-12-01T00:00:00Z");
  REQUIRE(pass.mutations.size() == 1);
  const auto* prune = std::get_if<store::PruneHistory>(&pass.mutations[0]);
  REQUIRE(prune != nullptr);
  CHECK(prune->older_than == "2026-12-01T00:00:00Z");
  CHECK(prune->scan == 500);
  w.h.commit(pass);
  CHECK(w.h.run(w.messi, "history user henderson") == empty_page);
}

TEST_CASE("index passes move the oldest unindexed messages in slices of at most `max`") {
  World w;
  for (int i = 1; i <= 7; ++i) w.h.run(w.messi, "send henderson m" + std::to_string(i));
  CHECK(w.h.realm().unindexed_count() == 7);
  std::vector<std::string> all;
  for (int i = 1; i <= 7; ++i) all.push_back(msg(i, "messi", "henderson", "m" + std::to_string(i)));

  for (std::uint64_t up_to : {3, 6, 7}) {
    core::Outcome pass = w.h.realm().index_pass(3);
    REQUIRE(pass.mutations.size() == 1);
    CHECK(std::get<store::IndexHistory>(pass.mutations[0]).up_to == up_to);
    CHECK(w.h.realm().unindexed_count() == 7 - up_to);
    w.h.commit(pass);
    // Between slices every message is still found: indexed ones by conversation, the rest by id.
    CHECK(w.h.run(w.henderson, "history user messi") == page(all, false));
  }
  CHECK(w.h.realm().index_pass(3).mutations.empty());
}

TEST_CASE("index passes keep each conversation's unindexed ids apart, slice after slice") {
  World w;
  std::vector<std::string> henderson, lineker;
  for (int i = 1; i <= 9; ++i) {
    const bool to_henderson = i % 3 != 0;
    const std::string to = to_henderson ? "henderson" : "lineker";
    w.h.run(w.messi, "send " + to + " m" + std::to_string(i));
    (to_henderson ? henderson : lineker).push_back(msg(i, "messi", to, "m" + std::to_string(i)));
  }
  for (int pass = 0; pass < 5; ++pass) {
    core::Outcome slice = w.h.realm().index_pass(2);
    w.h.commit(slice);
    CHECK(w.h.run(w.henderson, "history user messi") == page(henderson, false));
    CHECK(w.h.run(w.lineker, "history user messi") == page(lineker, false));
    // A page below an id still unindexed, and one of a single message.
    CHECK(w.h.run(w.henderson, "history user messi 2 8") ==
          page({henderson[3], henderson[4]}, true));
    CHECK(w.h.run(w.lineker, "history user messi 1 6") == page({lineker[0]}, false));
  }
  CHECK(w.h.realm().unindexed_count() == 0);
  // New messages after a list was emptied are tracked again.
  w.h.run(w.messi, "send lineker m10");
  CHECK(w.h.realm().unindexed_count() == 1);
  CHECK(w.h.last_query.indexed_up_to == 9);
}

TEST_CASE("a realm on a store that indexes history as stored keeps no unindexed ids") {
  Harness h;
  const store::Snapshot snapshot = h.store.load();
  REQUIRE(snapshot.history_indexed_as_stored);  // MemoryStore's conversations, at PutHistory
  h.realm().load(snapshot);
  Connection messi{1}, henderson{2};
  h.run(messi, "register messi surabaya Lionel_Messi Argentina");
  h.run(henderson, "register henderson surabaya Jordan_Henderson Inggris");
  h.run(messi, "send henderson m1");
  h.run(henderson, "send messi m2");
  CHECK(h.realm().unindexed_count() == 0);
  CHECK(h.realm().index_pass(100).mutations.empty());
  CHECK(h.run(henderson, "history user messi") ==
        page({msg(1, "messi", "henderson", "m1"), msg(2, "henderson", "messi", "m2")}, false));
  CHECK(h.last_query.recent.empty());
  CHECK(h.last_query.indexed_up_to == UINT64_MAX);
}
