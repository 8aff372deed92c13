#pragma once
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

struct sqlite3;

namespace chat::store {

// Copies a WAL database's log back into the database (a checkpoint) from a connection and a
// thread of its own, so that the committing thread never does it. SQLite's automatic checkpoint
// runs inside the commit that crosses the threshold, and with it the database file's fsync:
// that commit, and every reply waiting for it, stalls for milliseconds (docs/performance.md,
// the p99 at pipeline 1). A PASSIVE checkpoint never blocks the writer: commits go on appending
// to the log meanwhile, and the log starts over once it has been copied whole.
class WalCheckpointer {
 public:
  // Opens its own connection to `file` (synchronous=FULL with `fsync`, else NORMAL, like the
  // writer's) and starts the thread. Throws StoreError when the file cannot be opened.
  WalCheckpointer(const std::filesystem::path& file, bool fsync, int threshold_pages);
  ~WalCheckpointer();  // stops the thread (a checkpoint in progress finishes first)
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Becomes `writer`'s WAL hook, in place of its automatic checkpoint: after each of its
  // commits, a log of threshold_pages or more wakes the thread. `writer` must outlive this.
  void watch(sqlite3* writer);
  // Checkpoints run so far (tests).
  int checkpoints() const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int log_pages);
  void run();

  sqlite3* db_ = nullptr;  // its own connection, used only by the thread
  sqlite3* watched_ = nullptr;
  int threshold_pages_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool wanted_ = false;
  bool stopping_ = false;
  int checkpoints_ = 0;
  std::thread thread_;
};

}  // namespace chat::store
