#pragma once
#include <filesystem>
#include <memory>
#include <span>

#include "store/store.hpp"

namespace chat::store {

// The realm's durable store: one SQLite database in WAL mode at data_dir/realm.db
// (docs/design.md §4). Unread messages are in `messages` (load() returns them); every message is
// kept once in history (store/sqlite_history.hpp: rows of many messages each), read by history
// readers on connections of their own.
class SqliteStore final : public Store {
 public:
  static constexpr const char* file_name = "realm.db";
  static constexpr int current_schema_version = 9;

  // Creates data_dir when missing and the schema when new. fsync = true selects
  // synchronous=FULL (a commit survives power loss); false selects NORMAL (a commit survives
  // a crash of the process, which is what `kill -9` tests). Throws StoreError.
  SqliteStore(std::filesystem::path data_dir, bool fsync);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Snapshot load_streaming(const UnreadSink& unread) override;
  void commit(std::span<const Mutation> batch) override;
  bool commits_cheaply() const override { return !fsync_; }
  std::string signing_key(const std::function<std::string()>& make) override;

 private:
  std::unique_ptr<HistoryReader> open_reader(const HistoryReaderOptions& options) override;
  struct Impl;  // keeps sqlite3.h out of this header
  std::unique_ptr<Impl> impl_;
  bool fsync_ = false;
};

}  // namespace chat::store
