#pragma once
#include <filesystem>
#include <memory>
#include <span>

#include "store/store.hpp"

namespace chat::store {

// The realm's durable store: one SQLite database in WAL mode at data_dir/realm.db
// (DESIGN.md §4). Fetched messages are kept (fetched = 1) as the realm's history; load()
// returns only the unread ones.
class SqliteStore final : public Store {
 public:
  static constexpr const char* kFileName = "realm.db";
  static constexpr int kSchemaVersion = 4;

  // Creates data_dir when missing and the schema when new. fsync = true selects
  // synchronous=FULL (a commit survives power loss); false selects NORMAL (a commit survives
  // a crash of the process, which is what `kill -9` tests). Throws StoreError.
  SqliteStore(std::filesystem::path data_dir, bool fsync);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Snapshot load() override;
  void commit(std::span<const Mutation> batch) override;

 private:
  struct Impl;  // keeps sqlite3.h out of this header
  std::unique_ptr<Impl> impl_;
};

}  // namespace chat::store
