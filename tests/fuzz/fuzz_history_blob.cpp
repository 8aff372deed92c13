// What SqliteStore does with a history row's bytes (store/history_blob.hpp), which a damaged or
// hostile database file can make anything. Input: the first byte picks the level (even: recent,
// odd: chunk), the rest is the blob. Checked: a blob either parses or throws StoreError, and
// never reads past its end (ASan); what parses writes back to the same records, through both
// the decoded and (recent level) the packed path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_checks.hpp"
#include "store/history_blob.hpp"
#include "store/store.hpp"

namespace {

namespace blob = chat::store::history_blob;
using chat::store::HistoryRecord;

std::vector<HistoryRecord> decode(std::string_view bytes, blob::Level level) {
  std::vector<HistoryRecord> records;
  blob::Reader reader(bytes, level, "c/fuzz");
  blob::RecordView view;
  while (reader.next(view)) records.push_back(view.record());
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const blob::Level level = data[0] % 2 == 0 ? blob::Level::recent : blob::Level::chunk;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<HistoryRecord> records;
  try {
    records = decode(bytes, level);
  } catch (const chat::store::StoreError&) {
    return 0;
  }
  std::string again;
  blob::start(again);
  for (const HistoryRecord& record : records) blob::append(again, level, record);
  if (decode(again, level) != records) fuzz::fail("decode(encode(records)) differs", bytes);
  if (level == blob::Level::recent) {
    // Moved packed into a chunk: the same records, with the chunk's conversation.
    blob::Reader reader(bytes, level);
    blob::PackedRecord packed;
    std::string chunk;
    blob::start(chunk);
    while (reader.next(packed)) blob::append(chunk, packed);
    std::vector<HistoryRecord> moved = decode(chunk, blob::Level::chunk);
    for (HistoryRecord& record : records) record.conversation = "c/fuzz";
    if (moved != records) fuzz::fail("a packed move changed a record", bytes);
  }
  return 0;
}
