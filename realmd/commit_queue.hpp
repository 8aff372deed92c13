#pragma once
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace realmd {

// Group commit (DESIGN.md §3-4): the event loop queues each request's mutations and gets a
// sequence number; a thread of its own commits everything queued since its last commit in one
// store transaction, then tells the loop which sequence number is durable. A reply goes out
// only once its sequence number is committed.
//
// Fail-stop: when the store fails, nothing more is ever committed, so no reply that depends on
// an uncommitted change is written; the failure handler stops the server (exit code 1).
//
// Everything but the commit itself runs on the event loop thread.
class CommitQueue {
 public:
  // Above this many queued mutations enqueue() still accepts (the loop must never block) but
  // logs a warning: the store is not keeping up.
  static constexpr std::size_t backlog_warning = 100000;

  CommitQueue(asio::io_context& loop, chat::store::Store& store);
  ~CommitQueue();
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Called once on the loop after the store failed; the queue commits nothing more.
  void on_failure(std::function<void(const std::string& what)> handler);
  void start();
  // Commits what is queued, then stops the thread (blocks the caller for that last commit).
  void stop();

  // Queues one request's mutations; returns their sequence number. An empty batch does no
  // work and returns the last sequence number handed out (what a reply must wait for).
  std::uint64_t enqueue(std::vector<chat::store::Mutation> batch);
  // The highest sequence number known to be committed.
  std::uint64_t committed() const { return committed_; }
  // Calls `wake` on the loop once `seq` is committed (at once if it already is).
  void when_committed(std::uint64_t seq, std::function<void()> wake);

 private:
  void commit_loop();
  void mark_committed(std::uint64_t seq);

  asio::io_context& loop_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;  // until stop()
  chat::store::Store& store_;
  std::function<void(const std::string&)> on_failure_;

  // Loop thread only.
  std::uint64_t enqueued_ = 0;
  std::uint64_t committed_ = 0;
  std::multimap<std::uint64_t, std::function<void()>> waiters_;

  // Shared with the commit thread.
  std::mutex mutex_;
  std::condition_variable wanted_;
  std::vector<chat::store::Mutation> pending_;
  std::uint64_t pending_seq_ = 0;  // sequence number of the last batch in pending_
  bool stopping_ = false;

  std::thread thread_;
};

}  // namespace realmd
