#include "store/sqlite_history.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <queue>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace chat::store::sqlite {

using history_blob::Level;
using history_blob::PackedRecord;
using history_blob::RecordView;

const char* const history_v9_sql = R"sql(
CREATE TABLE history_recent(
  first_id INTEGER PRIMARY KEY,
  last_id INTEGER NOT NULL,
  records BLOB NOT NULL);
CREATE TABLE history_chunks(
  first_id INTEGER PRIMARY KEY,
  conversation TEXT NOT NULL,
  last_id INTEGER NOT NULL,
  last_time TEXT NOT NULL,
  count INTEGER NOT NULL,
  records BLOB NOT NULL);
CREATE UNIQUE INDEX history_chunks_by_conversation
  ON history_chunks(conversation, first_id, last_id, last_time, count);
)sql";

namespace {

// A chunk being built: a conversation's records, ascending.
struct Chunk {
  std::uint64_t first_id = 0;
  std::uint64_t last_id = 0;
  std::string last_time;
  std::size_t count = 0;
  std::string records;

  bool has_room() const {
    return count < HistoryWriter::chunk_records && records.size() < HistoryWriter::chunk_bytes;
  }
  // A record decoded (retention, the upgrade) or packed (moved by IndexHistory).
  template <typename Record>
  void add(const Record& record) {
    if (count == 0) {
      history_blob::start(records);
      first_id = record.id;
    }
    if constexpr (std::is_same_v<Record, PackedRecord>) {
      history_blob::append(records, record);
    } else {
      history_blob::append(records, Level::chunk, record);
    }
    last_id = record.id;
    last_time.assign(record.time);
    ++count;
  }
};

constexpr const char* put_chunk_sql =
    "INSERT OR REPLACE INTO history_chunks(first_id, conversation, last_id, last_time, count, "
    "records) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";

void put_chunk(Statement& put, std::string_view conversation, const Chunk& chunk) {
  put.bind_id(1, chunk.first_id)
      .bind(2, conversation)
      .bind_id(3, chunk.last_id)
      .bind(4, chunk.last_time)
      .bind_id(5, chunk.count)
      .bind_blob(6, chunk.records)
      .run();
}

// Writes `records` (one conversation's, ascending: RecordViews or PackedRecords) as chunks,
// starting with `chunk` (empty, or the conversation's newest chunk to be filled further).
template <typename Records>
void write_as_chunks(Statement& put, std::string_view conversation, Chunk chunk,
                     const Records& records) {
  for (const auto& record : records) {
    if (!chunk.has_room()) {
      put_chunk(put, conversation, chunk);
      chunk = Chunk{};
    }
    chunk.add(record);
  }
  if (chunk.count > 0) put_chunk(put, conversation, chunk);
}

std::vector<RecordView> decode(std::string_view blob, Level level,
                               std::string_view conversation = {}) {
  std::vector<RecordView> records;
  history_blob::Reader reader(blob, level, conversation);
  RecordView record;
  while (reader.next(record)) records.push_back(record);
  return records;
}

}  // namespace

void convert_history_to_v9(sqlite3* db) {
  constexpr const char* columns =
      "id, conversation, sender, sender_realm, recipient, group_name, text, time, bounce";
  auto view_of = [](const Statement& row) {
    return RecordView{row.id(0),   row.view(1), row.view(2), row.view(3),        row.view(4),
                      row.view(5), row.view(6), row.view(7), row.integer(8) != 0};
  };
  // Not yet indexed: into the recent level, as commits would have put them there.
  Statement recent(db, (std::string("SELECT ") + columns + " FROM history ORDER BY id").c_str());
  HistoryWriter writer(db, 0);
  writer.begin();
  while (recent.next_row()) writer.put(view_of(recent).record());
  writer.flush();
  // The archive, conversation by conversation: its chunks.
  Statement archive(
      db, (std::string("SELECT ") + columns + " FROM history_archive ORDER BY conversation, id")
              .c_str());
  Statement put(db, put_chunk_sql);
  std::string conversation;
  Chunk chunk;
  while (archive.next_row()) {
    const RecordView record = view_of(archive);
    if (record.conversation != conversation || !chunk.has_room()) {
      if (chunk.count > 0) put_chunk(put, conversation, chunk);
      chunk = Chunk{};
      conversation.assign(record.conversation);
    }
    chunk.add(record);
  }
  if (chunk.count > 0) put_chunk(put, conversation, chunk);
  execute(db,
          "DROP TRIGGER IF EXISTS history_id_unique; DROP TABLE history; "
          "DROP TABLE history_archive;");
}

std::uint64_t newest_recent_id(sqlite3* db) {
  return static_cast<std::uint64_t>(
      query_integer(db, "SELECT last_id FROM history_recent ORDER BY first_id DESC LIMIT 1"));
}

const char* const conversations_sql =
    "SELECT conversation, max(last_id), last_time, sum(count) FROM history_chunks "
    "GROUP BY conversation";

std::vector<ConversationSummary> load_conversations(sqlite3* db) {
  std::vector<ConversationSummary> conversations;
  // With one max() in a GROUP BY, SQLite takes the other bare columns (last_time) from the
  // row of the maximum: the conversation's newest chunk. The conversation index holds every
  // column read here, so a start reads the index, not the chunks (a cold start with a million
  // messages: 0.009 s against 0.25 s).
  Statement rows(db, conversations_sql);
  while (rows.next_row()) {
    conversations.push_back({rows.text(0), rows.id(1), rows.text(2), rows.id(3)});
  }
  return conversations;
}

// --- writing ---

HistoryWriter::HistoryWriter(sqlite3* db, std::uint64_t indexed)
    : insert_recent_(db,
                     "INSERT INTO history_recent(first_id, last_id, records) VALUES(?1, ?2, ?3)"),
      select_recent_(db,
                     "SELECT records FROM history_recent WHERE first_id <= ?1 ORDER BY first_id"),
      delete_recent_(db, "DELETE FROM history_recent WHERE first_id <= ?1"),
      newest_chunk_(db,
                    "SELECT first_id, last_id, last_time, count, records FROM history_chunks "
                    "WHERE conversation = ?1 ORDER BY first_id DESC LIMIT 1"),
      put_chunk_(db, put_chunk_sql),
      delete_chunk_(db, "DELETE FROM history_chunks WHERE first_id = ?1"),
      chunks_by_first_id_(db,
                          "SELECT first_id, conversation, records FROM history_chunks "
                          "ORDER BY first_id"),
      chunk_counts_(db,
                    "SELECT first_id, count FROM history_chunks "
                    "WHERE conversation = ?1 ORDER BY first_id DESC"),
      chunk_records_(db, "SELECT records FROM history_chunks WHERE first_id = ?1"),
      delete_chunks_below_(db,
                           "DELETE FROM history_chunks WHERE conversation = ?1 AND first_id < ?2") {
  committed_.indexed = indexed;
  committed_.last_stored = std::max(indexed, newest_recent_id(db));
  batch_ = committed_;
}

void HistoryWriter::begin() {
  batch_ = committed_;
  pending_.clear();
  pending_count_ = 0;
}

void HistoryWriter::adopt() {
  committed_ = batch_;
}

void HistoryWriter::put(const HistoryRecord& record) {
  if (record.id <= batch_.last_stored) {
    throw StoreError("history id " + std::to_string(record.id) +
                         " is not above the last one stored (" +
                         std::to_string(batch_.last_stored) + ")",
                     true);
  }
  if (pending_count_ == 0) {
    history_blob::start(pending_);
    pending_first_ = record.id;
  }
  history_blob::append(pending_, Level::recent, record);
  batch_.last_stored = record.id;
  if (++pending_count_ == recent_records) flush();
}

void HistoryWriter::flush() {
  if (pending_count_ == 0) return;
  write_recent(pending_first_, batch_.last_stored, pending_);
  pending_count_ = 0;
}

void HistoryWriter::write_recent(std::uint64_t first_id, std::uint64_t last_id,
                                 std::string_view records) {
  insert_recent_.bind_id(1, first_id).bind_id(2, last_id).bind_blob(3, records).run();
}

void HistoryWriter::index(std::uint64_t up_to) {
  if (up_to <= batch_.indexed) return;
  flush();
  // The recent rows that start at or below up_to; only the last of them can hold ids above it.
  std::vector<std::string> blobs;
  select_recent_.bind_id(1, up_to);
  while (select_recent_.next_row()) blobs.emplace_back(select_recent_.blob(0));
  // Grouped by conversation as they are read; each group keeps its ids ascending, since the
  // recent level is in id order. (A hash of groups: sorting 50,000 records by conversation
  // cost as much as writing them.)
  std::unordered_map<std::string_view, std::vector<PackedRecord>> moving;
  std::string rest;
  std::uint64_t rest_first = 0;
  std::uint64_t rest_last = 0;
  for (const std::string& blob : blobs) {
    history_blob::Reader reader(blob, Level::recent);
    PackedRecord record;
    while (reader.next(record)) {
      if (record.id <= up_to) {
        moving[record.conversation].push_back(record);
        continue;
      }
      if (rest.empty()) {
        history_blob::start(rest);
        rest_first = record.id;
      }
      rest_last = record.id;
      history_blob::append_recent(rest, record);
    }
  }
  if (!blobs.empty()) delete_recent_.bind_id(1, up_to).run();
  if (!rest.empty()) write_recent(rest_first, rest_last, rest);
  // Conversations in the order of their first id moved: new chunks then go in by ascending
  // first id (the table's key), filling its last pages as appends do, not splitting them.
  std::vector<const decltype(moving)::value_type*> in_order;
  in_order.reserve(moving.size());
  for (const auto& group : moving) in_order.push_back(&group);
  std::sort(in_order.begin(), in_order.end(), [](const auto* a, const auto* b) {
    return a->second.front().id < b->second.front().id;
  });
  for (const auto* group : in_order) append_to_chunks(group->first, group->second);
  batch_.indexed = up_to;
}

void HistoryWriter::append_to_chunks(std::string_view conversation,
                                     std::span<const PackedRecord> records) {
  Chunk newest;
  newest_chunk_.bind(1, conversation);
  if (newest_chunk_.next_row()) {
    if (newest_chunk_.integer(3) < static_cast<std::int64_t>(chunk_records) &&
        newest_chunk_.blob(4).size() < chunk_bytes) {
      // Filled further and written back under its first id (INSERT OR REPLACE).
      newest.first_id = newest_chunk_.id(0);
      newest.last_id = newest_chunk_.id(1);
      newest.last_time = newest_chunk_.text(2);
      newest.count = static_cast<std::size_t>(newest_chunk_.integer(3));
      newest.records.assign(newest_chunk_.blob(4));
    }
    newest_chunk_.reset();
  }
  write_as_chunks(put_chunk_, conversation, std::move(newest), records);
}

void HistoryWriter::index_everything() {
  index(batch_.last_stored);
}

void HistoryWriter::prune(const std::string& older_than, std::size_t scan) {
  index_everything();
  if (scan == 0) return;
  // The `scan` lowest ids of all conversations: chunks in order of their first id, until no
  // chunk left can hold one of them (a max-heap of the lowest seen so far).
  struct Loaded {
    std::uint64_t first_id;
    std::string conversation;
    std::string records;
  };
  std::vector<Loaded> loaded;
  std::priority_queue<std::uint64_t> lowest;
  while (chunks_by_first_id_.next_row()) {
    const std::uint64_t first_id = chunks_by_first_id_.id(0);
    if (lowest.size() == scan && first_id > lowest.top()) {
      chunks_by_first_id_.reset();
      break;
    }
    loaded.push_back(
        {first_id, chunks_by_first_id_.text(1), std::string(chunks_by_first_id_.blob(2))});
    history_blob::Reader reader(loaded.back().records, Level::chunk);
    RecordView record;
    while (reader.next(record)) {
      lowest.push(record.id);
      if (lowest.size() > scan) lowest.pop();
    }
  }
  const std::uint64_t highest_scanned = lowest.empty() ? 0 : lowest.top();
  for (const Loaded& chunk : loaded) {
    std::vector<RecordView> kept = decode(chunk.records, Level::chunk, chunk.conversation);
    const std::size_t before = kept.size();
    std::erase_if(
        kept, [&](const RecordView& r) { return r.id <= highest_scanned && r.time < older_than; });
    if (kept.size() == before) continue;
    delete_chunk_.bind_id(1, chunk.first_id).run();
    write_as_chunks(put_chunk_, chunk.conversation, Chunk{}, kept);
  }
}

void HistoryWriter::trim(const std::string& conversation, std::size_t keep) {
  index_everything();
  // Newest first, by the counts alone: the chunk holding the (keep+1)-th newest message is cut,
  // older ones go.
  std::size_t newer = 0;
  std::optional<std::uint64_t> cut_first_id;
  std::size_t cut_keeps = 0;
  chunk_counts_.bind(1, conversation);
  while (chunk_counts_.next_row()) {
    const auto count = static_cast<std::size_t>(chunk_counts_.integer(1));
    if (newer + count > keep) {
      cut_first_id = chunk_counts_.id(0);
      cut_keeps = keep - newer;
      chunk_counts_.reset();
      break;
    }
    newer += count;
  }
  if (!cut_first_id) return;  // no more than `keep`
  chunk_records_.bind_id(1, *cut_first_id);
  if (!chunk_records_.next_row())
    throw StoreError("history chunk " + std::to_string(*cut_first_id) + " vanished");
  const std::string cut_records(chunk_records_.blob(0));
  chunk_records_.reset();
  delete_chunks_below_.bind(1, conversation).bind_id(2, *cut_first_id).run();
  std::vector<RecordView> records = decode(cut_records, Level::chunk, conversation);
  delete_chunk_.bind_id(1, *cut_first_id).run();
  const std::size_t keeps = std::min(cut_keeps, records.size());
  write_as_chunks(put_chunk_, conversation, Chunk{},
                  std::span<const RecordView>(records).last(keeps));
}

// --- reading ---

namespace {

// A read-only connection for a history reader: WAL lets it read while the commit thread
// writes, and it sees every transaction committed before each read begins.
Database open_read_only(const std::filesystem::path& file, const HistoryReaderOptions& options) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK) {
    throw StoreError("cannot open " + file.string() + " for reading: " +
                     (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  // Pages are read from a memory map rather than copied in by a pread() each (the top cost of
  // a history page alone), unless the options say otherwise (see HistoryReaderOptions), and the
  // page cache is larger than the default 2 MiB.
  if (options.memory_map) execute(raw, "PRAGMA mmap_size=1073741824");
  execute(raw, "PRAGMA cache_size=-16384");
  return db;
}

// One row of either level, decoded: its records by ascending id.
struct DecodedRow {
  std::uint64_t first_id = 0;
  std::uint64_t last_id = 0;
  std::string blob;
  std::vector<RecordView> records;

  bool holds(std::uint64_t id) const { return !records.empty() && first_id <= id && id <= last_id; }
  void load(const Statement& row, Level level, std::string_view conversation) {
    first_id = row.id(0);
    last_id = row.id(1);
    blob.assign(row.blob(2));
    records = decode(blob, level, conversation);
  }
  void clear() { records.clear(); }
  const RecordView* find(std::uint64_t id) const {
    auto it =
        std::lower_bound(records.begin(), records.end(), id,
                         [](const RecordView& r, std::uint64_t value) { return r.id < value; });
    return it != records.end() && it->id == id ? &*it : nullptr;
  }
};

class SqliteHistoryReader final : public HistoryReader {
 public:
  SqliteHistoryReader(const std::filesystem::path& file, const HistoryReaderOptions& options)
      : db_(open_read_only(file, options)) {}

  // The newest limit + 1 messages below `before`: the not yet indexed ones the query lists
  // first, then the indexed ones up to indexed_up_to. One more than asked says whether older
  // ones exist.
  HistoryPage read_history(const HistoryQuery& query) override {
    ReadTransaction snapshot(db_.get(), begin_, end_);
    recent_row_.clear();
    chunk_row_.clear();
    HistoryPage result;
    const std::size_t wanted = query.limit + 1;
    for (auto id = query.recent.rbegin();
         id != query.recent.rend() && result.messages.size() < wanted; ++id) {
      if (query.before != 0 && *id >= query.before) continue;
      if (const RecordView* found = find(*id, query.conversation)) {
        result.messages.push_back(found->record());
      }
    }
    std::uint64_t bound = query.before == 0 ? no_bound : query.before;
    if (query.indexed_up_to < bound - 1) bound = query.indexed_up_to + 1;
    if (result.messages.size() < wanted && bound > 1)
      read_chunks(query.conversation, bound, wanted, result);
    if (result.messages.size() > query.limit) {
      result.more = true;
      result.messages.pop_back();
    }
    std::reverse(result.messages.begin(), result.messages.end());  // oldest first
    return result;
  }

 private:
  static constexpr std::uint64_t no_bound = std::numeric_limits<std::int64_t>::max();

  // A recent id: in the recent level, or in the conversation's chunks if a pass moved it
  // since the query was made. Rows are kept decoded: a page's recent ids are mostly in one.
  const RecordView* find(std::uint64_t id, const std::string& conversation) {
    if (!recent_row_.holds(id)) {
      recent_row_.clear();
      recent_with_.bind_id(1, id);
      if (recent_with_.next_row()) {
        recent_row_.load(recent_with_, Level::recent, {});
        recent_with_.reset();
      }
    }
    const RecordView* found = recent_row_.holds(id) ? recent_row_.find(id) : nullptr;
    if (found != nullptr && found->conversation == conversation) return found;
    if (!chunk_row_.holds(id)) {
      chunk_row_.clear();
      chunk_with_.bind(1, conversation).bind_id(2, id);
      if (chunk_with_.next_row()) {
        chunk_row_.load(chunk_with_, Level::chunk, conversation);
        chunk_with_.reset();
      }
    }
    return chunk_row_.holds(id) ? chunk_row_.find(id) : nullptr;
  }

  // The conversation's newest messages below `bound`, newest first, until `wanted` in all.
  void read_chunks(const std::string& conversation, std::uint64_t bound, std::size_t wanted,
                   HistoryPage& result) {
    page_.bind(1, conversation).bind_id(2, bound);
    while (result.messages.size() < wanted && page_.next_row()) {
      records_ = decode(page_.blob(1), Level::chunk, conversation);
      for (auto r = records_.rbegin(); r != records_.rend() && result.messages.size() < wanted;
           ++r) {
        if (r->id < bound) result.messages.push_back(r->record());
      }
    }
    page_.reset();  // it may have stopped before the last row
  }

  // One read transaction for the whole page: a statement outside one is a transaction of its
  // own, and each takes and drops a WAL read lock (SQLite's process-wide shared-memory mutex,
  // which the commit on the event loop takes too: docs/performance.md "History, session 8").
  // It always ends, so that the next page sees every commit made meanwhile.
  class ReadTransaction {
   public:
    ReadTransaction(sqlite3* db, Statement& begin, Statement& end) : db_(db), end_(end) {
      begin.run();
    }
    ~ReadTransaction() { roll_back_if_open(db_, end_); }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

   private:
    sqlite3* db_;
    Statement& end_;
  };

  Database db_;
  Statement begin_{db_.get(), "BEGIN"};
  Statement end_{db_.get(), "ROLLBACK"};  // a read has nothing to commit
  Statement recent_with_{db_.get(),
                         "SELECT first_id, last_id, records FROM history_recent "
                         "WHERE first_id <= ?1 ORDER BY first_id DESC LIMIT 1"};
  Statement chunk_with_{
      db_.get(),
      "SELECT first_id, last_id, records FROM history_chunks "
      "WHERE conversation = ?1 AND first_id <= ?2 ORDER BY first_id DESC LIMIT 1"};
  Statement page_{db_.get(),
                  "SELECT first_id, records FROM history_chunks "
                  "WHERE conversation = ?1 AND first_id < ?2 ORDER BY first_id DESC"};
  DecodedRow recent_row_;
  DecodedRow chunk_row_;
  std::vector<RecordView> records_;
};

}  // namespace

std::unique_ptr<HistoryReader> open_history_reader(const std::filesystem::path& file,
                                                   const HistoryReaderOptions& options) {
  return std::make_unique<SqliteHistoryReader>(file, options);
}

}  // namespace chat::store::sqlite
