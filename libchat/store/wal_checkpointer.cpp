#include "store/wal_checkpointer.hpp"

#include <pthread.h>
#include <sqlite3.h>

#include <string>

#include "store/store.hpp"

namespace chat::store {

WalCheckpointer::WalCheckpointer(const std::filesystem::path& file, bool fsync, int threshold_pages)
    : threshold_pages_(threshold_pages) {
  const int rc =
      sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    throw StoreError("cannot open " + file.string() + " to checkpoint it: " + message);
  }
  // The checkpoint syncs the log before copying it and the database after, as the writer's
  // setting asks.
  sqlite3_exec(db_, fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", nullptr,
               nullptr, nullptr);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "wal-checkpoint");  // what `top -H` shows
    run();
  });
}

WalCheckpointer::~WalCheckpointer() {
  if (watched_ != nullptr) sqlite3_wal_hook(watched_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  sqlite3_close(db_);
}

void WalCheckpointer::watch(sqlite3* writer) {
  watched_ = writer;
  sqlite3_wal_hook(writer, &WalCheckpointer::on_commit, this);
}

int WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_;
}

int WalCheckpointer::on_commit(void* self, sqlite3* /*db*/, const char* /*schema*/, int log_pages) {
  auto& checkpointer = *static_cast<WalCheckpointer*>(self);
  if (log_pages >= checkpointer.threshold_pages_) {
    {
      std::lock_guard lock(checkpointer.mutex_);
      checkpointer.wanted_ = true;
    }
    checkpointer.wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || wanted_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    // A failure (a full disk) leaves the log as it is: it is copied at the next wake-up, or
    // when the writer's connection closes.
    int log_pages = 0;
    int copied_pages = 0;
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied_pages);
    lock.lock();
    ++checkpoints_;
  }
}

}  // namespace chat::store
