// The WAL checkpointer: checkpoints happen on its thread once the log passes the threshold,
// and never inside the writer's commits.
#include "store/wal_checkpointer.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>

#include "support/poll.hpp"
#include "support/temp_dir.hpp"

using chat::store::WalCheckpointer;
using test_support::eventually;
using test_support::TempDir;

namespace {

// A writer connection in WAL mode, as SqliteStore opens it.
class Writer {
 public:
  explicit Writer(const std::filesystem::path& file) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            nullptr) == SQLITE_OK);
    db_.reset(raw);
    run("PRAGMA journal_mode=WAL");
    run("PRAGMA synchronous=NORMAL");
    run("CREATE TABLE t(x TEXT)");
  }
  sqlite3* get() const { return db_.get(); }
  void run(const std::string& sql) {
    REQUIRE(sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  // One transaction of `rows` rows of 1 KiB each.
  void insert(int rows) {
    run("BEGIN");
    for (int i = 0; i < rows; ++i) run("INSERT INTO t VALUES(printf('%.1024c', 'x'))");
    run("COMMIT");
  }

 private:
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db_{nullptr, &sqlite3_close};
};

// The WAL file's size in 4 KiB pages.
int wal_pages(const std::filesystem::path& file) {
  return static_cast<int>(std::filesystem::file_size(file.string() + "-wal") / 4096);
}

}  // namespace

TEST_CASE("WalCheckpointer: the log is copied back on its thread once past the threshold") {
  TempDir dir;
  const auto file = dir.path() / "t.db";
  Writer writer(file);
  WalCheckpointer checkpointer(file, false, 64);
  checkpointer.watch(writer.get());
  CHECK(checkpointer.checkpoints() == 0);
  writer.insert(40);  // about 12 pages (3 rows a page): under the threshold
  CHECK(checkpointer.checkpoints() == 0);
  writer.insert(400);
  CHECK(eventually([&] { return checkpointer.checkpoints() >= 1; }));
  // Copied whole, the log starts over at the next commit instead of growing.
  const int grown = wal_pages(file);
  writer.insert(10);
  CHECK(wal_pages(file) <= grown);
}

TEST_CASE("WalCheckpointer: the writer's own commits no longer checkpoint") {
  TempDir dir;
  const auto file = dir.path() / "t.db";
  Writer writer(file);
  {
    // SQLite's automatic checkpoint (every 1000 pages) would keep the log near 1000 pages; with
    // the hook in its place and a threshold never reached, the log grows past it.
    WalCheckpointer checkpointer(file, false, 1'000'000);
    checkpointer.watch(writer.get());
    for (int i = 0; i < 30; ++i) writer.insert(400);  // about 4000 pages
    CHECK(wal_pages(file) > 2000);
    CHECK(checkpointer.checkpoints() == 0);
  }
  // Unhooked when the checkpointer goes: the writer's commits are safe after it.
  writer.insert(1);
}
