#include "commit_queue.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/post.hpp>
#include <iterator>
#include <utility>

namespace realmd {

CommitQueue::CommitQueue(asio::io_context& loop, chat::store::Store& store)
    : loop_(loop), work_(asio::make_work_guard(loop)), store_(store), stall_timer_(loop) {}

CommitQueue::~CommitQueue() {
  stop();
}

void CommitQueue::start() {
  thread_ = std::thread([this] { commit_loop(); });
}

bool CommitQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wanted_.notify_one();
  if (thread_.joinable()) thread_.join();
  stall_timer_.cancel();
  work_.reset();
  return stopped_clean_;
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
  // Once per doubling, not per request: a store that is down can queue for a long time.
  if (backlog > std::max(backlog_warning, 2 * backlog_warned_)) {
    spdlog::warn("commit queue: {} mutations waiting for the store", backlog);
    backlog_warned_ = backlog;
  }
  return seq;
}

void CommitQueue::when_committed(std::uint64_t seq, std::function<void()> wake) {
  if (seq <= committed_) {
    wake();
    return;
  }
  waiters_.emplace(seq, Waiter{std::move(wake), false});
}

void CommitQueue::when_committed_or_stalled(std::uint64_t seq, std::function<void()> wake) {
  if (seq <= committed_ || stalled()) {
    wake();
    return;
  }
  waiters_.emplace(seq, Waiter{std::move(wake), true});
}

void CommitQueue::commit_loop() {
  using Clock = std::chrono::steady_clock;
  std::vector<chat::store::Mutation> batch;  // kept across failed attempts
  std::uint64_t seq = 0;
  bool failing = false;
  Clock::time_point failing_since;
  std::size_t failed_attempts = 0;
  std::chrono::milliseconds retry_delay = retry_first;
  for (;;) {
    bool last_attempt = false;
    {
      std::unique_lock lock(mutex_);
      if (batch.empty()) wanted_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      // What was queued meanwhile goes behind the batch (after a failure: behind the failed
      // one), in the same transaction.
      if (!pending_.empty()) {
        if (batch.empty()) {
          // The common case (no failed batch to go first): the two vectors trade places, so
          // neither the mutations are moved one by one nor either vector's capacity is lost.
          batch.swap(pending_);
        } else {
          batch.insert(batch.end(), std::make_move_iterator(pending_.begin()),
                       std::make_move_iterator(pending_.end()));
          pending_.clear();
        }
        seq = pending_seq_;
      }
      if (batch.empty()) return;  // stopping, and everything is committed
      last_attempt = stopping_;
    }
    const auto commit_began = Clock::now();
    try {
      store_.commit(batch);
      if (on_committed_) {
        on_committed_(batch, std::chrono::duration<double>(Clock::now() - commit_began).count());
      }
    } catch (const chat::store::MutationRejected& e) {
      // The data, not the disk: that one mutation can never be stored. Dropping it (loudly)
      // and committing the rest at once keeps one bad row from stalling the whole realm.
      spdlog::error("store refused a mutation for good, dropping it: {}", e.what());
      batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(e.index));
      if (batch.empty()) batch.emplace_back(chat::store::MarkFetched{});  // seq still commits
      continue;
    } catch (const chat::store::StoreError& e) {
      ++failed_attempts;
      if (!failing) {
        failing = true;
        failing_since = Clock::now();
        spdlog::error(
            "store commit of {} mutations failed: {}; retrying until it works (their replies "
            "wait)",
            batch.size(), e.what());
        asio::post(loop_, [this] { store_failed(); });
      }
      if (last_attempt) {
        spdlog::error("stopping with {} mutations not stored (none was acknowledged)",
                      batch.size());
        stopped_clean_ = false;
        return;
      }
      std::unique_lock lock(mutex_);
      wanted_.wait_for(lock, retry_delay, [this] { return stopping_; });
      retry_delay = std::min(retry_delay * 2, retry_cap);
      continue;
    }
    if (failing) {
      const std::chrono::duration<double> outage = Clock::now() - failing_since;
      spdlog::info("store commits again after {:.1f} s and {} failed attempts ({} mutations)",
                   outage.count(), failed_attempts, batch.size());
    }
    // One handler: no reply may see the store healthy again without seeing this commit.
    asio::post(loop_, [this, seq, recovered = failing] {
      if (recovered) store_recovered();
      mark_committed(seq);
    });
    failing = false;
    failed_attempts = 0;
    retry_delay = retry_first;
    batch.clear();
  }
}

void CommitQueue::store_failed() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;  // the last commit failed: nothing is left to answer
  }
  stall_timer_.expires_after(stall_after);
  stall_timer_.async_wait([this](std::error_code ec) {
    if (!ec) stall();
  });
}

void CommitQueue::store_recovered() {
  stall_timer_.cancel();
  stalled_ = false;
}

void CommitQueue::stall() {
  stalled_ = true;
  spdlog::warn("store failing for {} s: replies waiting for it are answered with an error",
               stall_after.count());
  std::vector<std::function<void()>> ready;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->second.wakes_on_stall) {
      ready.push_back(std::move(it->second.wake));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& wake : ready) wake();
}

void CommitQueue::mark_committed(std::uint64_t seq) {
  committed_ = seq;
  backlog_warned_ = 0;
  auto end = waiters_.upper_bound(seq);
  std::vector<std::function<void()>> ready;
  for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second.wake));
  waiters_.erase(waiters_.begin(), end);
  for (auto& wake : ready) wake();
}

}  // namespace realmd
