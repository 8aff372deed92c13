// SqliteStore's history in rows of many messages (store/sqlite_history.hpp, history_blob.hpp):
// the blob format on its own, then the two levels against MemoryStore, which keeps a message
// per map entry and is the model here.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "store/history_blob.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "support/temp_dir.hpp"

using test_support::TempDir;

namespace chat::store {
namespace {

using history_blob::Level;
using history_blob::RecordView;

HistoryRecord record(std::uint64_t id, std::string conversation, std::string text) {
  return {id,
          std::move(conversation),
          "messi",
          "alpha",
          "henderson",
          "",
          std::move(text),
          "2026-11-26T10:00:00Z",
          false};
}

std::vector<HistoryRecord> decode_all(const std::string& blob, Level level,
                                      std::string_view conversation = {}) {
  std::vector<HistoryRecord> records;
  history_blob::Reader reader(blob, level, conversation);
  RecordView view;
  while (reader.next(view)) records.push_back(view.record());
  return records;
}

}  // namespace

TEST_CASE("a history blob gives back every record byte for byte, at either level") {
  std::vector<HistoryRecord> records = {
      record(1, "u/a/b", ""),
      record(200, "u/a/b", std::string("nul\0inside", 10)),
      record(std::numeric_limits<std::uint64_t>::max(), "u/a/b", std::string(70000, '\xff')),
  };
  records[1].group = "kominfo";
  records[1].bounce = true;
  records[1].time = "2026-12-02T03:00:00Z";

  std::string recent;
  history_blob::start(recent);
  for (const HistoryRecord& r : records) history_blob::append(recent, Level::recent, r);
  CHECK(decode_all(recent, Level::recent) == records);

  // A chunk leaves the conversation out: its records take the row's.
  std::string chunk;
  history_blob::start(chunk);
  for (const HistoryRecord& r : records) history_blob::append(chunk, Level::chunk, r);
  CHECK(chunk.size() < recent.size());
  CHECK(decode_all(chunk, Level::chunk, "u/a/b") == records);
}

TEST_CASE("a recent record moved packed into a chunk is the same record") {
  HistoryRecord moved = record(41, "g/kominfo", "rapat \"jam 9\"");
  moved.group = "kominfo";
  moved.bounce = true;
  std::string recent;
  history_blob::start(recent);
  history_blob::append(recent, Level::recent, record(40, "u/a/b", "lain"));
  history_blob::append(recent, Level::recent, moved);
  history_blob::Reader reader(recent, Level::recent);
  history_blob::PackedRecord packed;
  REQUIRE(reader.next(packed));
  CHECK(packed.conversation == "u/a/b");
  REQUIRE(reader.next(packed));
  CHECK(packed.id == 41);
  CHECK(packed.time == "2026-11-26T10:00:00Z");
  CHECK_FALSE(reader.next(packed));
  // Into a chunk, and back into a recent blob (what a pass leaves of a row it cuts).
  std::string chunk;
  history_blob::start(chunk);
  history_blob::append(chunk, packed);
  CHECK(decode_all(chunk, Level::chunk, "g/kominfo") == std::vector<HistoryRecord>{moved});
  std::string rest;
  history_blob::start(rest);
  history_blob::append_recent(rest, packed);
  CHECK(decode_all(rest, Level::recent) == std::vector<HistoryRecord>{moved});
  // A chunk has no conversations to read packed records from.
  history_blob::Reader wrong(chunk, Level::chunk, "g/kominfo");
  CHECK_THROWS_AS(wrong.next(packed), StoreError);
}

TEST_CASE("a damaged history blob is reported, never read past its end") {
  std::string blob;
  history_blob::start(blob);
  history_blob::append(blob, Level::recent, record(7, "u/a/b", "halo"));
  CHECK(decode_all(blob, Level::recent).size() == 1);
  // Every cut of a valid blob, and every byte of it changed, either parses or throws StoreError
  // (ASan in CI sees any read beyond the buffer).
  CHECK(decode_all(blob.substr(0, 1), Level::recent).empty());  // the format byte alone
  CHECK_THROWS_AS(decode_all("", Level::recent), StoreError);
  for (std::size_t size = 2; size < blob.size(); ++size) {
    const std::string cut = blob.substr(0, size);
    CHECK_THROWS_AS(decode_all(cut, Level::recent), StoreError);
  }
  for (std::size_t at = 0; at < blob.size(); ++at) {
    for (int value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string changed = blob;
      changed[at] = static_cast<char>(value);
      try {
        decode_all(changed, Level::recent);
      } catch (const StoreError&) {
      }
    }
  }
  CHECK_THROWS_WITH_AS(decode_all(std::string("\x02", 1), Level::recent),
                       "damaged history blob: unknown format", StoreError);
  // A length far beyond the blob.
  std::string huge;
  history_blob::start(huge);
  huge += std::string("\x07\xff\xff\xff\xff\x0f", 6);
  CHECK_THROWS_AS(decode_all(huge, Level::recent), StoreError);
}

// Random batches of every history mutation, applied to both stores; after each, random pages
// read from both must be the same. The SQLite query carries what core would: the ids above the
// last IndexHistory as `recent`.
TEST_CASE("SqliteStore's history chunks page, prune and trim as MemoryStore does") {
  std::mt19937_64 random(20261202);
  auto below = [&](std::uint64_t n) { return n == 0 ? 0 : random() % n; };
  TempDir dir;
  SqliteStore sqlite(dir.path(), false);
  MemoryStore memory;
  const std::vector<std::string> conversations = {"u/a/b", "u/a/c", "g/kominfo", "g/x",
                                                  "r/beta/x/a"};
  const std::vector<std::string> days = {"2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z",
                                         "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"};
  std::uint64_t next_id = 1;
  std::uint64_t indexed = 0;  // as core knows it: the last IndexHistory
  std::map<std::string, std::vector<std::uint64_t>> ids_of;
  std::size_t pages = 0;
  std::size_t messages_read = 0;
  std::size_t pages_with_more = 0;

  for (int round = 0; round < 250; ++round) {
    std::vector<Mutation> batch;
    const int steps = 1 + static_cast<int>(below(4));
    for (int step = 0; step < steps; ++step) {
      const std::uint64_t kind = below(10);
      if (kind < 6) {
        const std::uint64_t count = 1 + below(kind == 0 ? 300 : 40);
        for (std::uint64_t i = 0; i < count; ++i) {
          next_id += 1 + below(3);  // other ids (inbox entries) between
          // Skewed: the first conversation gets most.
          const std::string& conversation =
              conversations[below(2) == 0 ? 0 : below(conversations.size())];
          std::string text = "m" + std::to_string(next_id);
          if (below(50) == 0) text += std::string(2000 + below(4000), 'x');
          HistoryRecord r = record(next_id, conversation, text);
          r.time = days[below(days.size())];
          r.bounce = below(20) == 0;
          ids_of[conversation].push_back(next_id);
          batch.push_back(PutHistory{r});
        }
      } else if (kind < 8) {
        indexed = std::max(indexed, indexed + below(next_id - indexed + 1));
        batch.push_back(IndexHistory{indexed});
      } else if (kind == 8) {
        batch.push_back(PruneHistory{days[below(days.size())], below(200)});
      } else {
        batch.push_back(TrimConversation{conversations[below(conversations.size())], below(120)});
      }
    }
    sqlite.commit(batch);
    memory.commit(batch);

    auto sqlite_reader = sqlite.open_history_reader({.memory_map = below(2) == 0});
    auto memory_reader = memory.open_history_reader();
    for (int read = 0; read < 4; ++read) {
      HistoryQuery query;
      query.conversation = conversations[below(conversations.size())];
      query.limit = 1 + below(120);
      query.before = below(3) == 0 ? 0 : 1 + below(next_id + 1);
      const HistoryPage expected = memory_reader->read_history(query);
      query.indexed_up_to = indexed;
      for (std::uint64_t id : ids_of[query.conversation]) {
        if (id > indexed && (query.before == 0 || id < query.before)) query.recent.push_back(id);
      }
      const HistoryPage page = sqlite_reader->read_history(query);
      REQUIRE_MESSAGE(page.messages.size() == expected.messages.size(),
                      "round " << round << " " << query.conversation << " before " << query.before
                               << " limit " << query.limit);
      CHECK(page.messages == expected.messages);
      CHECK(page.more == expected.more);
      ++pages;
      messages_read += page.messages.size();
      pages_with_more += page.more ? 1 : 0;
    }
  }
  CHECK(pages == 1000);
  // Not a comparison of empty pages: most pages held messages, many had older ones.
  MESSAGE(messages_read << " messages in " << pages << " pages, " << pages_with_more
                        << " with more");
  CHECK(messages_read > 20000);
  CHECK(pages_with_more > 300);
  // And after a restart, the conversation list matches too.
  std::vector<ConversationSummary> from_sqlite = sqlite.load().conversations;
  std::vector<ConversationSummary> from_memory = memory.load().conversations;
  auto by_name = [](const auto& a, const auto& b) { return a.conversation < b.conversation; };
  std::sort(from_sqlite.begin(), from_sqlite.end(), by_name);
  std::sort(from_memory.begin(), from_memory.end(), by_name);
  CHECK(from_sqlite == from_memory);
}

}  // namespace chat::store
