#include "commit_queue.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/post.hpp>
#include <iterator>
#include <utility>

namespace realmd {
namespace {

using Clock = std::chrono::steady_clock;

// Holds `flag` up for as long as it lives, however the scope is left (a commit may throw).
class RaisedWhileInScope {
 public:
  explicit RaisedWhileInScope(std::atomic<bool>& flag) : flag_(flag) {
    flag_.store(true, std::memory_order_relaxed);
  }
  ~RaisedWhileInScope() { flag_.store(false, std::memory_order_relaxed); }
  RaisedWhileInScope(const RaisedWhileInScope&) = delete;
  RaisedWhileInScope& operator=(const RaisedWhileInScope&) = delete;

 private:
  std::atomic<bool>& flag_;
};

}  // namespace

CommitQueue::CommitQueue(asio::io_context& loop, chat::store::Store& store)
    : loop_(loop),
      work_(asio::make_work_guard(loop)),
      store_(store),
      commit_on_loop_(store.commits_cheaply()),
      stall_timer_(loop),
      lease_timer_(loop) {}

CommitQueue::~CommitQueue() {
  stop();
}

void CommitQueue::start() {
  worker_.start("commit", [this] { commit_loop(); });
}

bool CommitQueue::stop() {
  worker_.stop();
  stall_timer_.cancel();
  lease_timer_.cancel();
  work_.reset();
  return stopped_clean_;
}

std::uint64_t CommitQueue::enqueue(std::vector<chat::store::Mutation> batch) {
  if (batch.empty()) return enqueued_;
  const std::uint64_t seq = ++enqueued_;
  std::size_t backlog = 0;
  {
    std::lock_guard lock(worker_.mutex());
    pending_.insert(pending_.end(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
    pending_seq_ = seq;
    backlog = pending_.size();
  }
  if (!commit_on_loop_) {
    worker_.wake().notify_one();
  } else if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(loop_, [this] { flush(); });
  }
  // Once per doubling, not per request: a store that is down can queue for a long time.
  if (backlog > std::max(backlog_warning, 2 * backlog_warned_)) {
    spdlog::warn("commit queue: {} mutations waiting for the store", backlog);
    backlog_warned_ = backlog;
  }
  return seq;
}

void CommitQueue::flush() {
  flush_posted_ = false;
  // The loop's own batch vector, kept with its capacity: pending_ takes it in exchange, so
  // neither grows again from nothing (a growth to thousands of mutations asks malloc for a
  // large block, which first merges every small free block it kept: docs/performance.md).
  std::vector<chat::store::Mutation>& batch = inline_batch_;
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(worker_.mutex());
    if (pending_.empty()) return;
    // The thread takes pending_ itself once it is done with what it holds.
    if (thread_busy_) return;
    if (pending_.size() > max_inline_batch || worker_.stopping() ||
        std::any_of(pending_.begin(), pending_.end(), chat::store::is_bulk)) {
      worker_.wake().notify_one();
      return;
    }
    batch.swap(pending_);
    seq = pending_seq_;
  }
  // The thread is idle and pending_ is empty: nothing else commits until this returns (both
  // are changed only here, on the loop, and by the thread once it has been woken).
  try {
    commit_timed(batch);
  } catch (const chat::store::StoreError&) {
    // Nothing was applied: the batch goes back first in line, and the thread retries it (and
    // logs, drops a refused mutation, stalls) exactly as for its own commits.
    {
      std::lock_guard lock(worker_.mutex());
      batch.insert(batch.end(), std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.end()));
      pending_.swap(batch);
      thread_busy_ = true;  // the thread's from now on: no flush takes it back meanwhile
    }
    batch.clear();
    worker_.wake().notify_one();
    return;
  }
  batch.clear();
  mark_committed(seq);
}

void CommitQueue::commit_timed(const std::vector<chat::store::Mutation>& batch) {
  const auto commit_began = Clock::now();
  batch_began_.store(commit_began.time_since_epoch().count(), std::memory_order_relaxed);
  {
    const RaisedWhileInScope running(committing_);
    store_.commit(batch);
  }
  if (on_committed_) {
    on_committed_(batch, std::chrono::duration<double>(Clock::now() - commit_began).count());
  }
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
  watch_lease();
}

void CommitQueue::watch_lease() {
  if (!valid_until_ || lease_timer_armed_) return;
  lease_timer_armed_ = true;
  // Not before now: valid_until_ is time_point::min() while this process holds no lease.
  lease_timer_.expires_at(std::max(valid_until_(), LeaseClock::now()));
  lease_timer_.async_wait([this](std::error_code ec) {
    lease_timer_armed_ = false;
    if (ec) return;
    if (lease_lapsed()) {
      spdlog::warn(
          "lease not known valid: replies waiting for the store are answered with an "
          "error");
      wake_stall_waiters();
    } else if (std::any_of(waiters_.begin(), waiters_.end(),
                           [](const auto& w) { return w.second.wakes_on_stall; })) {
      watch_lease();  // renewed meanwhile: watch its new end
    }
  });
}

// What the commit thread knows of a failing store: since when, how many attempts failed, how
// long to wait before the next one.
struct CommitQueue::Outage {
  bool failing = false;
  Clock::time_point since;
  std::size_t failed_attempts = 0;
  std::chrono::milliseconds retry_delay = retry_first;
};

void CommitQueue::commit_loop() {
  std::vector<chat::store::Mutation> batch;  // kept across failed attempts
  std::uint64_t seq = 0;
  Outage outage;
  for (;;) {
    bool last_attempt = false;
    if (!take_queued(batch, seq, last_attempt)) return;  // stopping, and everything is committed
    switch (try_commit(batch, outage, last_attempt)) {
      case Attempt::committed: {
        report_committed(seq, batch.size(), outage);
        batch.clear();
        std::lock_guard lock(worker_.mutex());
        thread_busy_ = false;
        break;
      }
      case Attempt::retry:
        break;
      case Attempt::given_up:
        return;
    }
  }
}

bool CommitQueue::take_queued(std::vector<chat::store::Mutation>& batch, std::uint64_t& seq,
                              bool& last_attempt) {
  std::unique_lock lock(worker_.mutex());
  if (batch.empty()) {
    worker_.wake().wait(lock, [this] { return worker_.stopping() || !pending_.empty(); });
  }
  // What was queued meanwhile goes behind the batch (after a failure: behind the failed one), in
  // the same transaction.
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
  if (batch.empty()) return false;
  thread_busy_ = true;
  last_attempt = worker_.stopping();
  return true;
}

CommitQueue::Attempt CommitQueue::try_commit(std::vector<chat::store::Mutation>& batch,
                                             Outage& outage, bool last_attempt) {
  try {
    commit_timed(batch);
    return Attempt::committed;
  } catch (const chat::store::MutationRejected& e) {
    // The data, not the disk: that one mutation can never be stored. Dropping it (loudly)
    // and committing the rest at once keeps one bad row from stalling the whole realm.
    spdlog::error("store refused a mutation for good, dropping it: {}", e.what());
    batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(e.index));
    if (batch.empty()) batch.emplace_back(chat::store::MarkFetched{});  // seq still commits
    return Attempt::retry;
  } catch (const chat::store::StoreError& e) {
    return commit_failed(batch.size(), e.what(), outage, last_attempt);
  }
}

CommitQueue::Attempt CommitQueue::commit_failed(std::size_t batch_size, const char* why,
                                                Outage& outage, bool last_attempt) {
  ++outage.failed_attempts;
  if (!outage.failing) {
    outage.failing = true;
    outage.since = Clock::now();
    spdlog::error(
        "store commit of {} mutations failed: {}; retrying until it works (their replies wait)",
        batch_size, why);
    asio::post(loop_, [this] { store_failed(); });
  }
  if (last_attempt) {
    spdlog::error("stopping with {} mutations not stored (none was acknowledged)", batch_size);
    stopped_clean_ = false;
    return Attempt::given_up;
  }
  std::unique_lock lock(worker_.mutex());
  worker_.wake().wait_for(lock, outage.retry_delay, [this] { return worker_.stopping(); });
  outage.retry_delay = std::min(outage.retry_delay * 2, retry_cap);
  return Attempt::retry;
}

void CommitQueue::report_committed(std::uint64_t seq, std::size_t batch_size, Outage& outage) {
  if (outage.failing) {
    const std::chrono::duration<double> took = Clock::now() - outage.since;
    spdlog::info("store commits again after {:.1f} s and {} failed attempts ({} mutations)",
                 took.count(), outage.failed_attempts, batch_size);
  }
  // One handler: no reply may see the store healthy again without seeing this commit.
  asio::post(loop_, [this, seq, recovered = outage.failing] {
    if (recovered) store_recovered();
    mark_committed(seq);
  });
  outage = Outage{};
}

void CommitQueue::store_failed() {
  {
    std::lock_guard lock(worker_.mutex());
    if (worker_.stopping()) return;  // the last commit failed: nothing is left to answer
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
  wake_stall_waiters();
}

void CommitQueue::wake_stall_waiters() {
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
  // The thread's report of an earlier batch may arrive after the loop committed a later one.
  if (seq <= committed_) return;
  committed_ = seq;
  backlog_warned_ = 0;
  auto end = waiters_.upper_bound(seq);
  // A kept vector, as the inline batch's. Should a wake lead back here, the nested call finds
  // it taken and uses a new one.
  std::vector<std::function<void()>> ready;
  ready.swap(ready_wakes_);
  for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second.wake));
  waiters_.erase(waiters_.begin(), end);
  for (auto& wake : ready) wake();
  ready.clear();
  if (ready.capacity() > ready_wakes_.capacity()) ready_wakes_.swap(ready);
}

}  // namespace realmd
