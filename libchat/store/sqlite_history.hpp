#pragma once
// The history half of SqliteStore (docs/architecture.md "History"): two levels of rows that each
// hold many messages (store/history_blob.hpp).
//
// - `history_recent`: what was stored since the last IndexHistory, in id order, a row per run
//   of up to `recent_records` messages of one commit batch.
// - `history_chunks`: each conversation's messages in id order, a row per run of up to
//   `chunk_records` of them (or about `chunk_bytes`), keyed by its first id and indexed by
//   (conversation, first id) with the columns the conversation list needs: a page is one or
//   two rows.
//
// IndexHistory moves records from the first level to the second, appending each conversation's
// to its newest chunk while that has room. A conversation's chunks never overlap in ids: every
// pass moves ids above the ones before it.
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/history_blob.hpp"
#include "store/records.hpp"
#include "store/sqlite_statement.hpp"
#include "store/store.hpp"

namespace chat::store::sqlite {

// Schema version 9 creates the two tables; convert_history_to_v9 then moves the rows of
// version 8's `history` and `history_archive` into them and drops those.
extern const char* const history_v9_sql;
void convert_history_to_v9(sqlite3* db);

// The highest id in the recent level (0: none). The chunks hold no id above meta's
// history_indexed.
std::uint64_t newest_recent_id(sqlite3* db);

// Every conversation in the chunks: its newest id and time and its message count.
std::vector<ConversationSummary> load_conversations(sqlite3* db);
extern const char* const conversations_sql;  // the query it runs

// Writes history inside SqliteStore's transactions. Its state changes only with a committed
// batch: begin() starts a batch, then adopt() once it committed (a failed batch leaves nothing).
class HistoryWriter {
 public:
  static constexpr std::size_t recent_records = 64;
  static constexpr std::size_t chunk_records = 64;
  // A full chunk stays within one 4 KiB page (SQLite keeps up to 4,061 bytes of a row there):
  // at 16 KiB each chunk took an overflow page, and chunks written by realmd under load filled
  // their pages to about two thirds (110 bytes per 32-byte message against 78 now).
  static constexpr std::size_t chunk_bytes = 3800;

  // `indexed`: meta's history_indexed, the highest id moved to the chunks.
  HistoryWriter(sqlite3* db, std::uint64_t indexed);

  void begin();
  // Throws StoreError (permanent) unless record.id is above every history id stored: ids are
  // unique and handed out in the order messages are stored (IndexHistory relies on it).
  void put(const HistoryRecord& record);
  // Writes what put() holds; called before anything reads the recent level and before COMMIT.
  void flush();
  void index(std::uint64_t up_to);
  void prune(const std::string& older_than, std::size_t scan);
  void trim(const std::string& conversation, std::size_t keep);
  void adopt();

  // Within the batch: the highest id moved (history_indexed), as meta records it.
  std::uint64_t indexed() const { return batch_.indexed; }
  bool indexed_changed() const { return batch_.indexed != committed_.indexed; }
  std::uint64_t last_stored() const { return batch_.last_stored; }

 private:
  struct Counters {
    std::uint64_t indexed = 0;
    std::uint64_t last_stored = 0;  // the highest history id stored so far
  };

  void write_recent(std::uint64_t first_id, std::uint64_t last_id, std::string_view records);
  // Appends one conversation's records (ascending, above its chunks' ids) to its chunks.
  void append_to_chunks(std::string_view conversation,
                        std::span<const history_blob::PackedRecord> records);
  // Retention works on the chunks only: what the recent level holds is moved there first.
  void index_everything();

  Counters committed_;
  Counters batch_;
  std::string pending_;  // recent records of this batch not written yet
  std::uint64_t pending_first_ = 0;
  std::size_t pending_count_ = 0;

  Statement insert_recent_;
  Statement select_recent_;
  Statement delete_recent_;
  Statement newest_chunk_;
  Statement put_chunk_;
  Statement delete_chunk_;
  Statement chunks_by_first_id_;
  Statement chunk_counts_;  // a conversation's, newest first: its index alone
  Statement chunk_records_;
  Statement delete_chunks_below_;
};

// A reader on a connection of its own (store.hpp: HistoryReader).
std::unique_ptr<HistoryReader> open_history_reader(const std::filesystem::path& file,
                                                   const HistoryReaderOptions& options);

}  // namespace chat::store::sqlite
