#include "commit_queue.hpp"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <iterator>
#include <utility>

namespace realmd {

CommitQueue::CommitQueue(asio::io_context& loop, chat::store::Store& store)
    : loop_(loop), work_(asio::make_work_guard(loop)), store_(store) {}

CommitQueue::~CommitQueue() {
  stop();
}

void CommitQueue::on_failure(std::function<void(const std::string&)> handler) {
  on_failure_ = std::move(handler);
}

void CommitQueue::start() {
  thread_ = std::thread([this] { commit_loop(); });
}

void CommitQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wanted_.notify_one();
  if (thread_.joinable()) thread_.join();
  work_.reset();
}

std::uint64_t CommitQueue::enqueue(std::vector<chat::store::Mutation> batch) {
  if (batch.empty()) return enqueued_;
  const std::uint64_t seq = ++enqueued_;
  std::size_t backlog = 0;
  {
    std::lock_guard lock(mutex_);
    pending_.insert(pending_.end(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
    pending_seq_ = seq;
    backlog = pending_.size();
  }
  wanted_.notify_one();
  if (backlog > backlog_warning) {
    spdlog::warn("commit queue: {} mutations waiting for the store", backlog);
  }
  return seq;
}

void CommitQueue::when_committed(std::uint64_t seq, std::function<void()> wake) {
  if (seq <= committed_) {
    wake();
    return;
  }
  waiters_.emplace(seq, std::move(wake));
}

void CommitQueue::commit_loop() {
  std::vector<chat::store::Mutation> batch;
  for (;;) {
    std::uint64_t seq = 0;
    {
      std::unique_lock lock(mutex_);
      wanted_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything is committed
      batch.swap(pending_);
      seq = pending_seq_;
    }
    try {
      store_.commit(batch);
    } catch (const chat::store::StoreError& e) {
      spdlog::critical("store commit of {} mutations failed: {}", batch.size(), e.what());
      asio::post(loop_, [this, what = std::string(e.what())] {
        if (on_failure_) on_failure_(what);
      });
      return;
    }
    batch.clear();
    asio::post(loop_, [this, seq] { mark_committed(seq); });
  }
}

void CommitQueue::mark_committed(std::uint64_t seq) {
  committed_ = seq;
  auto end = waiters_.upper_bound(seq);
  std::vector<std::function<void()>> ready;
  for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
  waiters_.erase(waiters_.begin(), end);
  for (auto& wake : ready) wake();
}

}  // namespace realmd
