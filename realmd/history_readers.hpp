#pragma once
#include <asio/io_context.hpp>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/realm_config.hpp"
#include "store/store.hpp"

namespace realmd {

// Reads history pages off the event loop (docs/architecture.md "History"): a few threads, each
// with a store::HistoryReader of its own (for SQLite, a read-only connection, which WAL lets
// read while the commit thread writes), take reads from one queue in arrival order, build the
// reply there and hand it back on the loop. History is far larger than memory can hold; a slow
// read holds up only the history replies queued behind it, never the loop. The queue needs no
// bound of its own: a session has at most a few reads queued (ClientSession's
// max_history_reads_per_connection) and connections are bounded.
class HistoryReaders {
 public:
  // Called on the loop with the reply text (the page, or the store error).
  using Done = std::function<void(std::string reply)>;

  HistoryReaders(asio::io_context& loop, chat::store::Store& store, std::size_t threads,
                 chat::config::ReaderPriority priority);
  ~HistoryReaders();
  HistoryReaders(const HistoryReaders&) = delete;
  HistoryReaders& operator=(const HistoryReaders&) = delete;

  // Opens the readers (throws chat::store::StoreError) and starts the threads.
  void start();
  // Finishes the reads queued (their replies are posted to the loop), then ends the threads.
  void stop();

  // Queues a read of `query`; `done` runs on the loop once it is read.
  void read(chat::store::HistoryQuery query, Done done);

 private:
  struct Job {
    chat::store::HistoryQuery query;
    Done done;
  };

  void run(chat::store::HistoryReader& reader);

  asio::io_context& loop_;
  chat::store::Store& store_;
  std::size_t thread_count_;
  chat::config::ReaderPriority priority_;
  std::vector<std::unique_ptr<chat::store::HistoryReader>> readers_;
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  std::condition_variable wanted_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
};

}  // namespace realmd
