#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/records.hpp"

// History messages packed many to one SQLite row (docs/architecture.md "History"): a row per
// message cost two B-tree inserts per send, one when stored and one when moved into the
// conversation's order; a row per commit batch, then per conversation chunk, costs a fraction
// of that (docs/performance.md "History in chunks").
//
// A blob is a format byte, then records in ascending id order, each: the id (LEB128), the
// conversation (only in a blob of the recent level, whose records belong to many), sender,
// sender realm, recipient, group, text and time (each a LEB128 length and its bytes), and one
// flags byte (bit 0: bounce). The store writes blobs and reads them back; a blob that does not
// parse (a damaged file) throws StoreError, never reads past its end.
namespace chat::store::history_blob {

// Which level a blob belongs to: whether its records carry their conversation.
enum class Level { recent, chunk };

// One record of a blob, its strings pointing into the blob (valid while the blob is).
struct RecordView {
  std::uint64_t id = 0;
  std::string_view conversation;  // a chunk's: the one given to the Reader
  std::string_view sender;
  std::string_view sender_realm;
  std::string_view recipient;
  std::string_view group;
  std::string_view text;
  std::string_view time;
  bool bounce = false;

  HistoryRecord record() const;
};

// A record of the recent level as IndexHistory moves it into a chunk: its fields after the
// conversation, still encoded, are the same bytes in a chunk and are copied as they are.
struct PackedRecord {
  std::uint64_t id = 0;
  std::string_view conversation;
  std::string_view time;
  std::string_view packed;  // sender through flags
};

// Starts a blob in `out` (emptied first).
void start(std::string& out);
// Appends one record; a chunk's records leave out their conversation.
void append(std::string& out, Level level, const RecordView& record);
void append(std::string& out, Level level, const HistoryRecord& record);
// Appends a moved record to a chunk, or back to a recent blob (with its conversation).
void append(std::string& out, const PackedRecord& record);
void append_recent(std::string& out, const PackedRecord& record);

// Reads a blob's records in order.
class Reader {
 public:
  // `conversation`: what a chunk's records report as theirs (a recent blob's carry their own).
  Reader(std::string_view blob, Level level, std::string_view conversation = {});
  // The next record, or false at the end. Throws StoreError if the blob is damaged.
  bool next(RecordView& record);
  // The same, packed; a recent blob only.
  bool next(PackedRecord& record);

 private:
  std::uint64_t number();
  std::string_view bytes();
  bool flags();

  std::string_view blob_;
  std::size_t at_ = 0;
  Level level_;
  std::string_view conversation_;
};

}  // namespace chat::store::history_blob
