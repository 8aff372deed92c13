// What only the SQLite store has: the file, WAL, the schema version, speed.
#include "store/sqlite_store.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "store/sqlite_history.hpp"
#include "support/temp_dir.hpp"

using test_support::TempDir;

namespace chat::store {
namespace {

// A second, raw connection to realm.db, to look at the file from outside the store.
class RawDatabase {
 public:
  explicit RawDatabase(const std::filesystem::path& file) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
    db_.reset(raw);
    REQUIRE(rc == SQLITE_OK);
  }

  void execute(const char* sql) {
    REQUIRE(sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  }

  std::string query(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr) == SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, &sqlite3_finalize);
    REQUIRE(sqlite3_step(stmt.get()) == SQLITE_ROW);
    return reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
  }

 private:
  std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> db_{nullptr, &sqlite3_close_v2};
};

MessageRecord message(std::uint64_t id) {
  return {id,
          "henderson",
          "messi",
          "alpha",
          "",
          "pesan nomor " + std::to_string(id),
          "2026-11-26T22:33:16Z",
          false};
}

// History as versions 4 to 8 kept it (a row per message in two tables), in place of version 9's.
void make_history_of_version_8(RawDatabase& db) {
  db.execute(R"sql(
    DROP TABLE history_recent;
    DROP TABLE history_chunks;
    CREATE TABLE history(id INTEGER PRIMARY KEY, conversation TEXT NOT NULL,
      sender TEXT NOT NULL, sender_realm TEXT NOT NULL, recipient TEXT NOT NULL,
      group_name TEXT NOT NULL, text TEXT NOT NULL, time TEXT NOT NULL, bounce INTEGER NOT NULL);
    CREATE TABLE history_archive(conversation TEXT NOT NULL, id INTEGER NOT NULL,
      sender TEXT NOT NULL, sender_realm TEXT NOT NULL, recipient TEXT NOT NULL,
      group_name TEXT NOT NULL, text TEXT NOT NULL, time TEXT NOT NULL, bounce INTEGER NOT NULL,
      PRIMARY KEY(conversation, id)) WITHOUT ROWID;
    CREATE UNIQUE INDEX history_archive_by_id ON history_archive(id);
    CREATE TRIGGER history_id_unique BEFORE INSERT ON history
      WHEN EXISTS (SELECT 1 FROM history_archive WHERE id = NEW.id)
      BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: history.id'); END;
    PRAGMA user_version = 8;)sql");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("SqliteStore creates data_dir and realm.db in WAL mode with schema version 9") {
  TempDir dir;
  const auto data_dir = dir.path() / "data" / "alpha";
  { SqliteStore store(data_dir, false); }

  const auto file = data_dir / SqliteStore::file_name;
  REQUIRE(std::filesystem::exists(file));
  RawDatabase db(file);
  CHECK(db.query("PRAGMA journal_mode") == "wal");
  CHECK(db.query("PRAGMA user_version") == "9");
  // Version 7: no second index on the inbox (a fetched row is deleted).
  CHECK(db.query("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                 "tbl_name = 'messages'") == "0");
  CHECK(db.query("SELECT count(*) FROM sqlite_schema WHERE name = 'refused_epochs'") == "1");
  CHECK(db.query("SELECT count(*) FROM sqlite_schema WHERE name = 'seen_epochs'") == "1");
  CHECK(db.query("SELECT count(*) FROM sqlite_schema WHERE name = 'sessions'") == "1");
  // Version 8: the realm's identity.
  CHECK(db.query("SELECT count(*) FROM sqlite_schema WHERE name = 'signing_key'") == "1");
  CHECK(db.query("SELECT count(*) FROM sqlite_schema WHERE name = 'pins'") == "1");
  // Version 9: history in rows of many messages; version 4's tables are gone.
  CHECK(db.query("SELECT count(*) FROM sqlite_schema WHERE name IN ('history_recent', "
                 "'history_chunks', 'history_chunks_by_conversation')") == "3");
  CHECK(db.query("SELECT count(*) FROM sqlite_schema WHERE name IN ('history', "
                 "'history_archive', 'history_id_unique')") == "0");
}

TEST_CASE(
    "SqliteStore keeps realm.db and its WAL files to their owner (the signing key is in it)") {
  using std::filesystem::perms;
  TempDir dir;
  const auto file = dir.path() / SqliteStore::file_name;
  {
    // As an older realmd left it: readable by all.
    SqliteStore store(dir.path(), false);
    std::filesystem::permissions(
        file, perms::owner_read | perms::owner_write | perms::group_read | perms::others_read);
  }
  SqliteStore store(dir.path(), false);
  store.signing_key([] { return std::string("secret"); });
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::filesystem::path part = file.string() + suffix;
    REQUIRE_MESSAGE(std::filesystem::exists(part), part);
    CHECK_MESSAGE((std::filesystem::status(part).permissions() &
                   (perms::group_all | perms::others_all)) == perms::none,
                  part);
  }
}

TEST_CASE("SqliteStore upgrades a version 7 database (identity in files), keeping its rows") {
  TempDir dir;
  {
    SqliteStore store(dir.path(), false);
    const std::vector<Mutation> batch = {PutSession{{"ab12", "messi"}}};
    store.commit(batch);
  }
  {
    RawDatabase db(dir.path() / SqliteStore::file_name);
    make_history_of_version_8(db);
    db.execute("DROP TABLE signing_key; DROP TABLE pins; PRAGMA user_version = 7;");
  }

  SqliteStore store(dir.path(), false);
  CHECK(store.load().sessions == std::vector<SessionRecord>{{"ab12", "messi"}});
  CHECK(store.signing_key([] { return std::string("made"); }) == "made");
  const std::vector<Mutation> batch = {PutPin{{"beta", std::string(64, 'b')}}};
  store.commit(batch);
  CHECK(store.load().pins == std::vector<PinRecord>{{"beta", std::string(64, 'b')}});
  CHECK(RawDatabase(dir.path() / SqliteStore::file_name).query("PRAGMA user_version") == "9");
}

TEST_CASE("SqliteStore's conversation list at start reads the conversation index alone") {
  TempDir dir;
  { SqliteStore store(dir.path(), false); }
  // EXPLAIN QUERY PLAN's detail column: a scan of the chunks themselves would read every
  // chunk's messages at start (a million messages: 0.25 s from a cold cache against 0.009).
  const std::string plan = "EXPLAIN QUERY PLAN " + std::string(sqlite::conversations_sql);
  sqlite3_stmt* raw = nullptr;
  sqlite3* handle = nullptr;
  REQUIRE(sqlite3_open_v2((dir.path() / SqliteStore::file_name).c_str(), &handle,
                          SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> owner(handle, &sqlite3_close_v2);
  REQUIRE(sqlite3_prepare_v2(handle, plan.c_str(), -1, &raw, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, &sqlite3_finalize);
  REQUIRE(sqlite3_step(raw) == SQLITE_ROW);
  const std::string detail = reinterpret_cast<const char*>(sqlite3_column_text(raw, 3));
  CHECK(detail == "SCAN history_chunks USING COVERING INDEX history_chunks_by_conversation");
}

TEST_CASE("SqliteStore upgrades a version 8 database, its history moved into chunks") {
  TempDir dir;
  { SqliteStore store(dir.path(), false); }
  {
    RawDatabase db(dir.path() / SqliteStore::file_name);
    make_history_of_version_8(db);
    // 1..150 moved into the archive (two conversations, the second with a group message that
    // bounced), 151..154 not yet; the texts need escapes in JSON and are not ASCII.
    std::string rows;
    for (int id = 1; id <= 154; ++id) {
      const bool group = id % 3 == 0;
      // Appended piece by piece: one long chain of + trips g++ 12's -Wrestrict at -O3.
      std::string values = "(";
      values += group ? "'g/kominfo', " : "'u/a/b', ";
      values += std::to_string(id);
      values += group ? ", 'a', 'alpha', 'kominfo', 'kominfo'" : ", 'a', 'alpha', 'b', ''";
      values += ", 'pesan \"" + std::to_string(id) + "\" caf\u00e9', '2026-11-26T10:00:00Z', ";
      values += id == 150 ? "1)" : "0)";
      const std::string table = id <= 150 ? "history_archive(conversation, id, sender, "
                                            "sender_realm, recipient, group_name, text, time, "
                                            "bounce)"
                                          : "history(conversation, id, sender, sender_realm, "
                                            "recipient, group_name, text, time, bounce)";
      rows += "INSERT INTO " + table + " VALUES" + values + ";";
    }
    rows +=
        "INSERT INTO meta(key, value) VALUES('history_indexed', 150), ('max_id', 154) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value;";
    db.execute(rows.c_str());
  }
  SqliteStore store(dir.path(), false);
  RawDatabase db(dir.path() / SqliteStore::file_name);
  CHECK(db.query("PRAGMA user_version") == "9");
  CHECK(db.query("SELECT count(*) FROM sqlite_schema WHERE name IN ('history', "
                 "'history_archive', 'history_id_unique')") == "0");
  CHECK(db.query("SELECT count(*) FROM history_recent") == "1");  // 151..154: one row
  // 100 messages of u/a/b in chunks of 64, 50 of g/kominfo in one.
  CHECK(db.query("SELECT group_concat(count) FROM (SELECT count FROM history_chunks "
                 "ORDER BY conversation, first_id)") == "50,64,36");

  // Before load(): the messages not yet indexed are found by id.
  auto reader = store.open_history_reader();
  HistoryQuery query;
  query.conversation = "u/a/b";
  query.limit = 5;
  query.indexed_up_to = 150;
  query.recent = {151, 152, 154};
  HistoryPage page = reader->read_history(query);
  REQUIRE(page.messages.size() == 5);
  CHECK(page.messages.front().id == 148);
  CHECK(page.messages.back().id == 154);
  CHECK(page.messages.back().text == "pesan \"154\" caf\u00e9");
  CHECK(page.more);
  query.conversation = "g/kominfo";
  query.recent = {153};
  query.limit = 2;
  page = reader->read_history(query);
  REQUIRE(page.messages.size() == 2);
  CHECK(page.messages[0].id == 150);
  CHECK(page.messages[0].bounce);
  CHECK(page.messages[0].group == "kominfo");
  CHECK(page.messages[1].id == 153);

  const Snapshot snapshot = store.load();  // indexes 151..154
  CHECK(snapshot.max_id == 154);
  std::vector<ConversationSummary> conversations = snapshot.conversations;
  std::sort(conversations.begin(), conversations.end(),
            [](const auto& a, const auto& b) { return a.conversation < b.conversation; });
  CHECK(conversations ==
        std::vector<ConversationSummary>{{"g/kominfo", 153, "2026-11-26T10:00:00Z", 51},
                                         {"u/a/b", 154, "2026-11-26T10:00:00Z", 103}});
  CHECK(db.query("SELECT count(*) FROM history_recent") == "0");
  // An id at or below the last one stored is refused for good.
  const std::vector<Mutation> again = {PutHistory{{154, "u/a/b", "a", "alpha", "b", "", "x", "t"}}};
  try {
    store.commit(again);
    FAIL("history id 154 was stored twice");
  } catch (const MutationRejected& e) {
    CHECK(e.index == 0);
  }
}

TEST_CASE("SqliteStore upgrades a version 3 database (no history), keeping its unread rows") {
  TempDir dir;
  { SqliteStore store(dir.path(), false); }
  {
    RawDatabase db(dir.path() / SqliteStore::file_name);
    db.execute(R"sql(
      DROP TABLE history_recent;
      DROP TABLE history_chunks;
      DROP TABLE messages;
      CREATE TABLE messages(id INTEGER PRIMARY KEY, recipient TEXT NOT NULL,
        sender TEXT NOT NULL, sender_realm TEXT NOT NULL, group_name TEXT NOT NULL,
        text TEXT NOT NULL, time TEXT NOT NULL, bounce INTEGER NOT NULL,
        fetched INTEGER NOT NULL DEFAULT 0);
      INSERT INTO messages VALUES(7, 'henderson', 'messi', 'alpha', '', 'hi', 't', 0, 0);
      INSERT INTO messages VALUES(8, 'henderson', 'messi', 'alpha', '', 'read', 't', 0, 1);
      DROP TABLE outbox;
      CREATE TABLE outbox(id INTEGER PRIMARY KEY, peer TEXT NOT NULL, kind TEXT NOT NULL,
        sender TEXT NOT NULL, target TEXT NOT NULL, text TEXT NOT NULL, time TEXT NOT NULL,
        epoch INTEGER NOT NULL DEFAULT 0);
      PRAGMA user_version = 3;)sql");
  }
  SqliteStore store(dir.path(), false);
  const Snapshot snapshot = store.load();
  REQUIRE(snapshot.unread.size() == 1);
  CHECK(snapshot.unread[0].id == 7);
  CHECK(snapshot.unread[0].shown_id() == 7);
  CHECK(snapshot.max_id == 8);
  const std::vector<Mutation> batch = {PutHistory{{9, "u/a/b", "a", "alpha", "b", "", "x", "t"}},
                                       IndexHistory{9}};
  store.commit(batch);
  HistoryQuery query;
  query.conversation = "u/a/b";
  CHECK(store.open_history_reader()->read_history(query).messages.size() == 1);
  CHECK(RawDatabase(dir.path() / SqliteStore::file_name).query("PRAGMA user_version") == "9");
}

TEST_CASE(
    "SqliteStore upgrades a version 1 database (no refused, no epochs, no sessions), keeping its "
    "rows") {
  TempDir dir;
  {
    // The tables of version 1 that carry rows, as version 1 made them.
    std::ofstream(dir.path() / SqliteStore::file_name).close();  // an empty file: an empty db
    RawDatabase db(dir.path() / SqliteStore::file_name);
    db.execute(
        "CREATE TABLE outbox(id INTEGER PRIMARY KEY, peer TEXT NOT NULL, kind TEXT NOT NULL, "
        "sender TEXT NOT NULL, target TEXT NOT NULL, text TEXT NOT NULL, time TEXT NOT NULL);"
        "CREATE TABLE seen(origin TEXT PRIMARY KEY, max_id INTEGER NOT NULL);"
        "INSERT INTO outbox VALUES(5, 'beta', 'private', 'messi', 'jokowi', 'hi', 't');"
        "INSERT INTO seen VALUES('alpha', 41);"
        "PRAGMA user_version = 1;");
  }

  SqliteStore store(dir.path(), false);
  const std::vector<Mutation> batch = {PutRefused{{"alpha", 0, 40, "User tidak ditemukan"}},
                                       PutSession{{"ab12", "messi"}}};
  store.commit(batch);
  const Snapshot snapshot = store.load();
  // What was stored before epochs is epoch 0, on both sides of a link: a retransmission of an
  // old outbox entry still meets its old mark.
  REQUIRE(snapshot.outbox.size() == 1);
  CHECK(snapshot.outbox[0].id == 5);
  CHECK(snapshot.outbox[0].epoch == 0);
  CHECK(snapshot.seen == std::vector<SeenRecord>{{"alpha", 0, 41, 0}});
  REQUIRE(snapshot.refused.size() == 1);
  CHECK(snapshot.refused[0].error == "User tidak ditemukan");
  CHECK(snapshot.sessions == std::vector<SessionRecord>{{"ab12", "messi"}});
  CHECK(snapshot.max_id == 5);
  CHECK(RawDatabase(dir.path() / SqliteStore::file_name).query("PRAGMA user_version") == "9");
  CHECK(snapshot.outbox[0].route.empty());
}

TEST_CASE("SqliteStore refuses a schema newer than its own") {
  TempDir dir;
  { SqliteStore store(dir.path(), false); }
  RawDatabase(dir.path() / SqliteStore::file_name).execute("PRAGMA user_version = 10");

  CHECK_THROWS_WITH_AS(
      SqliteStore(dir.path(), false),
      ((dir.path() / "realm.db").string() + " has schema version 10, newer than this program's 9")
          .c_str(),
      StoreError);
}

TEST_CASE("SqliteStore refuses a mark beyond an SQLite INTEGER at its own index") {
  // Marks are written once per batch, before COMMIT; the check is at the mutation.
  TempDir dir;
  SqliteStore store(dir.path(), false);
  const std::vector<Mutation> batch = {PutSeen{{"beta", 7, 6, 106}},
                                       PutSeen{{"beta", 7, std::uint64_t{1} << 63, 107}},
                                       PutSeen{{"beta", 7, 8, 108}}};
  try {
    store.commit(batch);
    FAIL("an id beyond 2^63 - 1 was stored");
  } catch (const MutationRejected& e) {
    CHECK(e.index == 1);
  }
  CHECK(store.load().seen.empty());
}

TEST_CASE("SqliteStore reports a data_dir it cannot create") {
  TempDir dir;
  const auto blocker = dir.path() / "file";
  std::fclose(std::fopen(blocker.c_str(), "w"));
  CHECK_THROWS_AS(SqliteStore(blocker / "alpha", false), StoreError);
}

TEST_CASE("SqliteStore keeps max_id when the rows holding it are deleted") {
  TempDir dir;
  {
    SqliteStore store(dir.path(), false);
    const std::vector<Mutation> batch = {
        PutMessage{message(7)},
        PutOutbox{{9, 1, "beta", "private", "messi", "ronaldo", "hi", "2026-11-26T22:33:16Z", ""}}};
    store.commit(batch);
  }
  {
    RawDatabase db(dir.path() / SqliteStore::file_name);
    db.execute("DELETE FROM messages; DELETE FROM outbox;");  // history pruned some day
  }
  SqliteStore store(dir.path(), false);
  CHECK(store.load().max_id == 9);
}

TEST_CASE("SqliteStore with fsync commits and reloads") {
  TempDir dir;
  {
    SqliteStore store(dir.path(), true);
    const std::vector<Mutation> batch = {PutMessage{message(1)}};
    store.commit(batch);
  }
  CHECK(SqliteStore(dir.path(), true).load().unread.size() == 1);
}

// A measurement, not a check: the numbers go to docs/performance.md.
TEST_CASE("SqliteStore commit and load speed (WAL, synchronous=NORMAL)") {
  constexpr int batch_count = 100;
  constexpr int batch_size = 1000;
  TempDir dir;
  std::uint64_t next_id = 1;
  std::vector<std::vector<Mutation>> batches(batch_count);
  for (auto& batch : batches) {
    for (int i = 0; i < batch_size; ++i) batch.emplace_back(PutMessage{message(next_id++)});
  }

  SqliteStore store(dir.path(), false);
  const auto commit_start = std::chrono::steady_clock::now();
  for (const auto& batch : batches) store.commit(batch);
  const double commit_seconds = seconds_since(commit_start);

  const auto load_start = std::chrono::steady_clock::now();
  const Snapshot snapshot = store.load();
  const double load_seconds = seconds_since(load_start);
  CHECK(snapshot.unread.size() == batch_count * batch_size);

  std::printf(
      "store speed: %d batches x %d PutMessage in %.3f s (%.1f ms/batch, %.0f messages/s); "
      "load of %zu unread in %.3f s\n",
      batch_count, batch_size, commit_seconds, commit_seconds * 1000 / batch_count,
      batch_count * batch_size / commit_seconds, snapshot.unread.size(), load_seconds);
}

}  // namespace chat::store
