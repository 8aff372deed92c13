#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "store/sqlite_history.hpp"
#include "store/sqlite_statement.hpp"
#include "store/wal_checkpointer.hpp"

namespace chat::store {
namespace {

using sqlite::Database;
using sqlite::execute;
using sqlite::HistoryWriter;
using sqlite::query_integer;
using sqlite::query_text;
using sqlite::roll_back_if_open;
using sqlite::Statement;

// The schema is built by migrations, each run once in order by the user_version it starts
// from (migrate()). Version 2 (version 1 lacked `refused`): every statement is IF NOT
// EXISTS, so running it on a version-1 database upgrades it in place. `meta` holds max_id so that
// ids never go backwards even if history rows are deleted some day. Fetched messages stay (fetched
// = 1): they are the realm's history, and the partial index keeps loading the unread ones fast
// however long that history grows.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS users(
  username TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  nama TEXT NOT NULL,
  negara TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups(
  name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS members(
  group_name TEXT NOT NULL,
  username TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(group_name, username));
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY,
  recipient TEXT NOT NULL,
  sender TEXT NOT NULL,
  sender_realm TEXT NOT NULL,
  group_name TEXT NOT NULL,
  text TEXT NOT NULL,
  time TEXT NOT NULL,
  bounce INTEGER NOT NULL,
  fetched INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS messages_unread ON messages(id) WHERE fetched = 0;
CREATE TABLE IF NOT EXISTS outbox(
  id INTEGER PRIMARY KEY,
  peer TEXT NOT NULL,
  kind TEXT NOT NULL,
  sender TEXT NOT NULL,
  target TEXT NOT NULL,
  text TEXT NOT NULL,
  time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen(
  origin TEXT PRIMARY KEY,
  max_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS peers(
  name TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  port INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta(
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refused(
  origin TEXT NOT NULL,
  id INTEGER NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY(origin, id)) WITHOUT ROWID;
)sql";

// Version 3: dedup per (origin realm, epoch) (docs/protocol.md §2, epochs). Rows from before
// epochs get epoch 0, which is also what this realm's old outbox entries are sent with, so a
// retransmission of them is still recognised on both sides of an upgrade.
constexpr const char* migrate_to_3 = R"sql(
ALTER TABLE outbox ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
CREATE TABLE seen_epochs(
  origin TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  max_id INTEGER NOT NULL,
  touched INTEGER NOT NULL,
  PRIMARY KEY(origin, epoch)) WITHOUT ROWID;
INSERT INTO seen_epochs(origin, epoch, max_id, touched) SELECT origin, 0, max_id, 0 FROM seen;
DROP TABLE seen;
CREATE TABLE refused_epochs(
  origin TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  id INTEGER NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY(origin, epoch, id)) WITHOUT ROWID;
INSERT INTO refused_epochs(origin, epoch, id, error) SELECT origin, 0, id, error FROM refused;
DROP TABLE refused;
)sql";

// Version 4: history (docs/architecture.md "History"). `messages` becomes the inbox only: a row
// is deleted once fetched (rows fetched before stay, unused), and a group message's entries
// point at its one history row (history_id). History is kept once per message in two levels:
// `history` takes new messages, appended in id order; IndexHistory moves them in bulk, sorted by
// conversation, into `history_archive`, clustered by (conversation, id), where a page of a
// conversation is one contiguous range. meta 'history_indexed' is the highest id moved. Writing
// each message into a conversation-ordered table as it is stored touched one page per message
// (the messages of one batch go to many conversations), which tripled a send's CPU
// (docs/performance.md). History starts empty: messages read before version 4 are not in it.
constexpr const char* migrate_to_4 = R"sql(
ALTER TABLE messages ADD COLUMN history_id INTEGER NOT NULL DEFAULT 0;
CREATE TABLE history(
  id INTEGER PRIMARY KEY,
  conversation TEXT NOT NULL,
  sender TEXT NOT NULL,
  sender_realm TEXT NOT NULL,
  recipient TEXT NOT NULL,
  group_name TEXT NOT NULL,
  text TEXT NOT NULL,
  time TEXT NOT NULL,
  bounce INTEGER NOT NULL);
CREATE TABLE history_archive(
  conversation TEXT NOT NULL,
  id INTEGER NOT NULL,
  sender TEXT NOT NULL,
  sender_realm TEXT NOT NULL,
  recipient TEXT NOT NULL,
  group_name TEXT NOT NULL,
  text TEXT NOT NULL,
  time TEXT NOT NULL,
  bounce INTEGER NOT NULL,
  PRIMARY KEY(conversation, id)) WITHOUT ROWID;
CREATE UNIQUE INDEX history_archive_by_id ON history_archive(id);
CREATE TRIGGER history_id_unique BEFORE INSERT ON history
  WHEN EXISTS (SELECT 1 FROM history_archive WHERE id = NEW.id)
  BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: history.id'); END;
)sql";

// Version 5: sessions, by the SHA-256 of their token (docs/protocol.md "Sessions"); a database
// from before has none, and its users log in again once.
constexpr const char* migrate_to_5 = R"sql(
CREATE TABLE IF NOT EXISTS sessions(
  token_hash TEXT PRIMARY KEY,
  username TEXT NOT NULL);
)sql";

// Version 6: routed messages (docs/protocol.md §2, routing) keep their envelope (origin, origin
// epoch, sequence, ...) in `route`; empty for a message to a direct peer.
constexpr const char* migrate_to_6 = R"sql(
ALTER TABLE outbox ADD COLUMN route TEXT NOT NULL DEFAULT '';
)sql";

// Version 7: no partial index `messages_unread`. Since version 4 a fetched row is deleted, so
// the index held every row of the table in the table's own order: a second B-tree insert (and
// delete) per inbox entry, 99 more per group message, for nothing. Rows fetched before version
// 4 (fetched = 1) stay, unused, and load() skips them.
constexpr const char* migrate_to_7 = R"sql(
DROP INDEX IF EXISTS messages_unread;
)sql";

// Version 8: the realm's identity (docs/protocol.md §2, trust): its secret signing key (one
// row) and the keys it pinned for other realms, in the order pinned (rowid). Before, both were
// files in data_dir; realmd imports those once (docs/operations.md "The data directory").
constexpr const char* migrate_to_8 = R"sql(
CREATE TABLE IF NOT EXISTS signing_key(
  id INTEGER PRIMARY KEY CHECK(id = 1),
  secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pins(
  realm TEXT PRIMARY KEY,
  public_key TEXT NOT NULL);
)sql";

// Version 9: history in rows of many messages each (store/sqlite_history.hpp): a row per
// message cost a send two B-tree inserts, and moving it into the conversation's order most of
// a send's store CPU (docs/performance.md "History in chunks"). The rows of version 8's two
// levels are converted, in the same transaction, by sqlite::convert_history_to_v9.

// Each migration runs, in one transaction, on a database whose user_version is below `to`
// (0 for a new file): its SQL, then its conversion (if any), and sets user_version to `to`
// (migrate()).
struct Migration {
  std::int64_t to;
  const char* sql;
  void (*convert)(sqlite3*) = nullptr;
};
const Migration migration_steps[] = {
    {2, schema_sql},   {3, migrate_to_3},
    {4, migrate_to_4}, {5, migrate_to_5},
    {6, migrate_to_6}, {7, migrate_to_7},
    {8, migrate_to_8}, {9, sqlite::history_v9_sql, sqlite::convert_history_to_v9}};
static_assert(SqliteStore::current_schema_version == 9, "the last migration sets user_version = 9");

// History's chunks hold no id above meta's history_indexed, so they need no scan here.
std::uint64_t stored_max_id(sqlite3* db) {
  const auto rows = static_cast<std::uint64_t>(query_integer(db, R"sql(
    SELECT max((SELECT coalesce(max(id), 0) FROM messages),
               (SELECT coalesce(max(id), 0) FROM outbox),
               (SELECT coalesce(max(value), 0) FROM meta
                WHERE key IN ('max_id', 'history_indexed'))))sql"));
  return std::max(rows, sqlite::newest_recent_id(db));
}

// Every row of `sql`, each made into a record by `make`.
template <typename Record, typename Make>
std::vector<Record> select_all(sqlite3* db, const char* sql, Make make) {
  std::vector<Record> records;
  Statement rows(db, sql);
  while (rows.next_row()) records.push_back(make(rows));
  return records;
}

// Users, groups with their members in join order, sessions.
void load_accounts(sqlite3* db, Snapshot& snapshot) {
  snapshot.users = select_all<UserRecord>(
      db, "SELECT username, password_hash, nama, negara FROM users ORDER BY rowid",
      [](const Statement& r) {
        return UserRecord{r.text(0), r.text(1), r.text(2), r.text(3)};
      });
  std::unordered_map<std::string, std::size_t> group_index;
  Statement groups(db, "SELECT name FROM groups ORDER BY rowid");
  while (groups.next_row()) {
    group_index.emplace(groups.text(0), snapshot.groups.size());
    snapshot.groups.push_back({groups.text(0), {}});
  }
  Statement members(db, "SELECT group_name, username FROM members ORDER BY seq");
  while (members.next_row()) {
    auto group = group_index.find(members.text(0));
    if (group != group_index.end()) {
      snapshot.groups[group->second].members.push_back(members.text(1));
    }
  }
  snapshot.sessions = select_all<SessionRecord>(
      db, "SELECT token_hash, username FROM sessions ORDER BY rowid", [](const Statement& r) {
        return SessionRecord{r.text(0), r.text(1)};
      });
}

// The unread inbox entries, one at a time to `unread`, and each history conversation's newest
// message and count.
void load_messages(sqlite3* db, Snapshot& snapshot, const UnreadSink& unread) {
  Statement rows(db,
                 "SELECT id, recipient, sender, sender_realm, group_name, text, time, bounce, "
                 "history_id FROM messages WHERE fetched = 0 ORDER BY id");
  // One record, assigned row after row: its strings keep their buffers, so a row costs no
  // allocation here (a million rows at start, docs/performance.md).
  MessageRecord record;
  while (rows.next_row()) {
    record.id = rows.id(0);
    record.recipient.assign(rows.view(1));
    record.sender.assign(rows.view(2));
    record.sender_realm.assign(rows.view(3));
    record.group.assign(rows.view(4));
    record.text.assign(rows.view(5));
    record.time.assign(rows.view(6));
    record.bounce = rows.integer(7) != 0;
    record.history_id = rows.id(8);
    unread(record);
  }
  snapshot.conversations = sqlite::load_conversations(db);
}

// The outbox, dedup marks, peers added at run time and refusals.
void load_federation(sqlite3* db, Snapshot& snapshot) {
  snapshot.outbox = select_all<OutboxRecord>(
      db, "SELECT id, epoch, peer, kind, sender, target, text, time, route FROM outbox ORDER BY id",
      [](const Statement& r) {
        return OutboxRecord{r.id(0),   r.id(1),   r.text(2), r.text(3), r.text(4),
                            r.text(5), r.text(6), r.text(7), r.text(8)};
      });
  snapshot.seen = select_all<SeenRecord>(
      db, "SELECT origin, epoch, max_id, touched FROM seen_epochs ORDER BY origin, touched",
      [](const Statement& r) {
        return SeenRecord{r.text(0), r.id(1), r.id(2), r.id(3)};
      });
  snapshot.peers = select_all<PeerRecord>(
      db, "SELECT name, host, port FROM peers ORDER BY rowid", [](const Statement& r) {
        return PeerRecord{r.text(0), r.text(1), static_cast<std::uint16_t>(r.integer(2))};
      });
  snapshot.refused = select_all<RefusedRecord>(
      db, "SELECT origin, epoch, id, error FROM refused_epochs ORDER BY origin, epoch, id",
      [](const Statement& r) {
        return RefusedRecord{r.text(0), r.id(1), r.id(2), r.text(3)};
      });
  snapshot.pins = select_all<PinRecord>(db, "SELECT realm, public_key FROM pins ORDER BY rowid",
                                        [](const Statement& r) {
                                          return PinRecord{r.text(0), r.text(1)};
                                        });
}

// The database holds the realm's secret signing key (and password hashes): readable by its
// owner only, made so before SQLite opens it, as its WAL and shared-memory files, which SQLite
// creates with the database's permissions. Files left by an older realmd are restricted too.
void keep_private(const std::filesystem::path& file) {
  constexpr auto owner_only =
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
  std::error_code error;
  if (!std::filesystem::exists(file)) std::ofstream(file).close();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::filesystem::path part = file.string() + suffix;
    if (std::filesystem::exists(part)) std::filesystem::permissions(part, owner_only, error);
    if (error) throw StoreError("cannot make " + part.string() + " private: " + error.message());
  }
}

std::filesystem::path prepare_data_dir(const std::filesystem::path& data_dir) {
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    throw StoreError("cannot create data_dir " + data_dir.string() + ": " + error.message());
  }
  const std::filesystem::path file = data_dir / SqliteStore::file_name;
  keep_private(file);
  return file;
}

void migrate(sqlite3* db, const Migration& migration) {
  execute(db, "BEGIN IMMEDIATE");
  try {
    execute(db, migration.sql);
    if (migration.convert != nullptr) migration.convert(db);
    execute(db, ("PRAGMA user_version = " + std::to_string(migration.to)).c_str());
    execute(db, "COMMIT");
  } catch (...) {
    if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

Database open_database(const std::filesystem::path& file, bool fsync) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(file.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);  // closes the handle sqlite allocates even when opening fails
  if (rc != SQLITE_OK) {
    throw StoreError("cannot open " + file.string() + ": " +
                     (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, sqlite::busy_timeout_ms);

  // WAL: a commit appends to the log instead of rewriting pages, and NORMAL syncs only at
  // checkpoints, which still survives a process crash (power loss needs FULL).
  const std::string mode = query_text(raw, "PRAGMA journal_mode=WAL");
  if (mode != "wal") {
    throw StoreError("cannot use WAL for " + file.string() + " (journal_mode is " + mode + ")");
  }
  execute(raw, fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  // Checkpoints run on a thread of their own (WalCheckpointer, which replaces the automatic
  // one). A WAL that has grown past that while the checkpointer lagged is cut back when it
  // starts over.
  execute(raw, "PRAGMA journal_size_limit=67108864");
  execute(raw, "PRAGMA foreign_keys=OFF");

  const std::int64_t version = query_integer(raw, "PRAGMA user_version");
  if (version > SqliteStore::current_schema_version) {
    throw StoreError(file.string() + " has schema version " + std::to_string(version) +
                     ", newer than this program's " +
                     std::to_string(SqliteStore::current_schema_version));
  }
  for (const Migration& migration : migration_steps) {
    if (query_integer(raw, "PRAGMA user_version") < migration.to) migrate(raw, migration);
  }
  return db;
}

// What a batch changes besides rows; adopted by the store only when the batch commits.
// (History's own are HistoryWriter's.)
struct BatchCounters {
  std::int64_t next_member_seq;
  std::uint64_t max_id;
};

}  // namespace

struct SqliteStore::Impl {
  // A checkpoint once the WAL holds 4096 pages (16 MiB): at SQLite's default of 1000 pages a
  // 100-message batch cost about a third more (docs/performance.md), and 16 MiB of WAL is quick
  // to read at start.
  static constexpr int checkpoint_pages = 4096;

  Impl(const std::filesystem::path& file, bool fsync)
      : path(file),
        db(open_database(file, fsync)),
        next_member_seq(query_integer(db.get(), "SELECT coalesce(max(seq), 0) + 1 FROM members")),
        max_id(stored_max_id(db.get())),
        history(db.get(),
                static_cast<std::uint64_t>(query_integer(db.get(),
                                                         "SELECT coalesce(max(value), 0) FROM meta "
                                                         "WHERE key = 'history_indexed'"))),
        checkpointer(file, fsync, checkpoint_pages) {
    checkpointer.watch(db.get());
  }

  void apply(const PutUser& m, BatchCounters&) {
    insert_user.bind(1, m.user.username)
        .bind(2, m.user.password_hash)
        .bind(3, m.user.nama)
        .bind(4, m.user.negara)
        .run();
  }
  void apply(const PutGroup& m, BatchCounters&) { insert_group.bind(1, m.name).run(); }
  void apply(const PutMember& m, BatchCounters& counters) {
    insert_member.bind(1, m.group).bind(2, m.user).bind(3, counters.next_member_seq++).run();
  }
  void apply(const PutMessage& m, BatchCounters& counters) {
    put_message(m.message, m.message.id, m.message.recipient, counters);
  }
  void apply(const PutGroupMessage& m, BatchCounters& counters) {
    for (const GroupDelivery& d : m.deliveries) put_message(m.message, d.id, d.recipient, counters);
  }
  // One inbox row: `r` with its own id and recipient.
  void put_message(const MessageRecord& r, std::uint64_t id, const std::string& recipient,
                   BatchCounters& counters) {
    insert_message.bind_id(1, id)
        .bind(2, recipient)
        .bind(3, r.sender)
        .bind(4, r.sender_realm)
        .bind(5, r.group)
        .bind(6, r.text)
        .bind(7, r.time)
        .bind(8, std::int64_t{r.bounce})
        .bind_id(9, r.history_id)
        .run();
    counters.max_id = std::max(counters.max_id, id);
  }
  void apply(const MarkFetched& m, BatchCounters&) {
    for (std::uint64_t id : m.ids) mark_fetched.bind_id(1, id).run();
  }
  void apply(const PutOutbox& m, BatchCounters& counters) {
    const OutboxRecord& r = m.entry;
    insert_outbox.bind_id(1, r.id)
        .bind(2, r.peer)
        .bind(3, r.kind)
        .bind(4, r.sender)
        .bind(5, r.target)
        .bind(6, r.text)
        .bind(7, r.time)
        .bind_id(8, r.epoch)
        .bind(9, r.route)
        .run();
    counters.max_id = std::max(counters.max_id, r.id);
  }
  void apply(const DeleteOutbox& m, BatchCounters&) {
    delete_outbox.bind_id(1, m.id).bind(2, m.peer).run();
  }
  // A realm link's batch carries a mark per message, all for one (origin, epoch): they are
  // merged and written once, before COMMIT (write_seen), as the highest id and the latest
  // touch, which is what writing them one after the other leaves. Checked here, so that a
  // mark that can never be stored is refused at its own index.
  void apply(const PutSeen& m, BatchCounters&) {
    sqlite::as_integer(m.seen.epoch);
    sqlite::as_integer(m.seen.id);
    sqlite::as_integer(m.seen.touched);
    auto [mark, added] = pending_seen.try_emplace({m.seen.origin, m.seen.epoch}, m.seen);
    if (!added) merge_later_mark(mark->second, m.seen);
  }
  void write_seen() {
    for (const auto& [key, mark] : pending_seen) {
      upsert_seen.bind(1, mark.origin)
          .bind_id(2, mark.epoch)
          .bind_id(3, mark.id)
          .bind_id(4, mark.touched)
          .run();
    }
    pending_seen.clear();
  }
  void apply(const DeleteSeen& m, BatchCounters&) {
    pending_seen.erase({m.origin, m.epoch});  // a mark of this batch before the delete goes too
    delete_seen.bind(1, m.origin).bind_id(2, m.epoch).run();
    delete_refused.bind(1, m.origin)
        .bind_id(2, m.epoch)
        .bind(3, std::numeric_limits<std::int64_t>::max())
        .run();
  }
  void apply(const PutPeer& m, BatchCounters&) {
    upsert_peer.bind(1, m.peer.name).bind(2, m.peer.host).bind(3, std::int64_t{m.peer.port}).run();
  }
  void apply(const PutRefused& m, BatchCounters&) {
    upsert_refused.bind(1, m.refused.origin)
        .bind_id(2, m.refused.epoch)
        .bind_id(3, m.refused.id)
        .bind(4, m.refused.error)
        .run();
  }
  void apply(const DeleteRefused& m, BatchCounters&) {
    delete_refused.bind(1, m.origin).bind_id(2, m.epoch).bind_id(3, m.up_to).run();
  }
  void apply(const PutSession& m, BatchCounters&) {
    insert_session.bind(1, m.session.token_hash).bind(2, m.session.user).run();
  }
  void apply(const DeleteSession& m, BatchCounters&) { delete_session.bind(1, m.token_hash).run(); }
  void apply(const PutPin& m, BatchCounters&) {
    insert_pin.bind(1, m.pin.realm).bind(2, m.pin.public_key).run();
  }
  void apply(const PutHistory& m, BatchCounters& counters) {
    history.put(m.message);
    counters.max_id = std::max(counters.max_id, m.message.id);
  }
  void apply(const IndexHistory& m, BatchCounters&) { history.index(m.up_to); }
  void apply(const PruneHistory& m, BatchCounters&) { history.prune(m.older_than, m.scan); }
  void apply(const TrimConversation& m, BatchCounters&) { history.trim(m.conversation, m.keep); }

  std::filesystem::path path;
  Database db;
  std::int64_t next_member_seq;  // members.seq keeps join order
  std::uint64_t max_id;          // highest id committed, as recorded in meta

  // Prepared once: commit() runs them thousands of times per batch.
  Statement begin{db.get(), "BEGIN IMMEDIATE"};
  Statement commit{db.get(), "COMMIT"};
  Statement rollback{db.get(), "ROLLBACK"};
  Statement insert_user{db.get(),
                        "INSERT INTO users(username, password_hash, nama, negara) "
                        "VALUES(?1, ?2, ?3, ?4)"};
  Statement insert_group{db.get(), "INSERT INTO groups(name) VALUES(?1)"};
  Statement insert_member{db.get(),
                          "INSERT INTO members(group_name, username, seq) VALUES(?1, ?2, ?3)"};
  Statement insert_message{
      db.get(),
      "INSERT INTO messages(id, recipient, sender, sender_realm, group_name, "
      "text, time, bounce, history_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"};
  // A fetched message leaves the inbox: its copy in history is the one kept.
  Statement mark_fetched{db.get(), "DELETE FROM messages WHERE id = ?1"};
  Statement insert_outbox{
      db.get(),
      "INSERT INTO outbox(id, peer, kind, sender, target, text, time, epoch, route) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"};
  Statement delete_outbox{db.get(), "DELETE FROM outbox WHERE id = ?1 AND peer = ?2"};
  Statement upsert_seen{db.get(),
                        "INSERT INTO seen_epochs(origin, epoch, max_id, touched) "
                        "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(origin, epoch) DO UPDATE SET "
                        "max_id = max(max_id, excluded.max_id), touched = excluded.touched"};
  // An upsert rather than INSERT OR REPLACE: same result, but the row keeps its place, so
  // peers load in the order they were first added.
  Statement upsert_peer{
      db.get(),
      "INSERT INTO peers(name, host, port) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET host = excluded.host, port = excluded.port"};
  Statement upsert_refused{
      db.get(),
      "INSERT INTO refused_epochs(origin, epoch, id, error) VALUES(?1, ?2, ?3, ?4) "
      "ON CONFLICT(origin, epoch, id) DO UPDATE SET error = excluded.error"};
  Statement delete_refused{
      db.get(), "DELETE FROM refused_epochs WHERE origin = ?1 AND epoch = ?2 AND id <= ?3"};
  Statement delete_seen{db.get(), "DELETE FROM seen_epochs WHERE origin = ?1 AND epoch = ?2"};
  Statement insert_session{db.get(),
                           "INSERT OR REPLACE INTO sessions(token_hash, username) VALUES(?1, ?2)"};
  Statement delete_session{db.get(), "DELETE FROM sessions WHERE token_hash = ?1"};
  Statement insert_pin{db.get(),
                       "INSERT INTO pins(realm, public_key) VALUES(?1, ?2) "
                       "ON CONFLICT(realm) DO NOTHING"};
  Statement save_history_indexed{
      db.get(),
      "INSERT INTO meta(key, value) VALUES('history_indexed', ?1) "
      "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)"};
  Statement save_max_id{db.get(),
                        "INSERT INTO meta(key, value) VALUES('max_id', ?1) "
                        "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)"};
  HistoryWriter history;  // history's rows (its statements prepared on `db`)
  std::map<std::pair<std::string, std::uint64_t>, SeenRecord> pending_seen;  // (origin, epoch)
  // Last: it goes first, before the connection it watches closes.
  WalCheckpointer checkpointer;
};

SqliteStore::SqliteStore(std::filesystem::path data_dir, bool fsync)
    : impl_(std::make_unique<Impl>(prepare_data_dir(data_dir), fsync)), fsync_(fsync) {}

SqliteStore::~SqliteStore() = default;

void SqliteStore::commit(std::span<const Mutation> batch) {
  Impl& s = *impl_;
  BatchCounters counters{s.next_member_seq, s.max_id};
  s.history.begin();
  s.pending_seen.clear();
  s.begin.run();
  try {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        std::visit([&](const auto& m) { s.apply(m, counters); }, batch[i]);
      } catch (const StoreError& e) {
        if (e.permanent) throw MutationRejected(i, e.what());
        throw;
      }
    }
    s.history.flush();
    s.write_seen();
    if (counters.max_id > s.max_id) s.save_max_id.bind_id(1, counters.max_id).run();
    if (s.history.indexed_changed()) {
      s.save_history_indexed.bind_id(1, s.history.indexed()).run();
    }
    s.commit.run();
  } catch (...) {
    roll_back_if_open(s.db.get(), s.rollback);
    throw;
  }
  s.next_member_seq = counters.next_member_seq;
  s.max_id = counters.max_id;
  s.history.adopt();
}

std::string SqliteStore::signing_key(const std::function<std::string()>& make) {
  sqlite3* db = impl_->db.get();
  const char* const stored = "SELECT secret FROM signing_key WHERE id = 1";
  std::string key = query_text(db, stored);
  if (!key.empty()) return key;
  const std::string made = make();
  Statement insert(db, "INSERT INTO signing_key(id, secret) VALUES(1, ?1) ON CONFLICT DO NOTHING");
  insert.bind(1, made).run();
  return query_text(db, stored);
}

std::unique_ptr<HistoryReader> SqliteStore::open_reader(const HistoryReaderOptions& options) {
  return sqlite::open_history_reader(impl_->path, options);
}

Snapshot SqliteStore::load_streaming(const UnreadSink& unread) {
  // What the last run stored after its last IndexHistory (a crash) is moved now, in slices of
  // ids as realmd's passes go, so that a large backlog is never all in memory at once.
  constexpr std::uint64_t slice_ids = 50000;  // realmd's passes: realm_server.cpp index_slice_ids
  HistoryWriter& history = impl_->history;
  while (history.indexed() < history.last_stored()) {
    commit(std::vector<Mutation>{
        IndexHistory{std::min(history.last_stored(), history.indexed() + slice_ids)}});
  }
  sqlite3* db = impl_->db.get();
  Snapshot snapshot;
  load_accounts(db, snapshot);
  load_messages(db, snapshot, unread);
  load_federation(db, snapshot);
  snapshot.max_id = stored_max_id(db);
  return snapshot;
}

}  // namespace chat::store
