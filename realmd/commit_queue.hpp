#pragma once
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "net/commit_gate.hpp"
#include "store/store.hpp"
#include "worker_thread.hpp"

namespace realmd {

// Group commit (docs/design.md §3-4): the event loop queues each request's mutations and gets a
// sequence number; a thread of its own commits everything queued since its last commit in one
// store transaction, then tells the loop which sequence number is durable. A reply goes out
// only once its sequence number is committed.
//
// A failing store (disk full, I/O error) is retried, not given up: the failed batch and
// everything queued after it stay queued, in order, and are committed in one transaction as
// soon as the store works again (retries back off from `retry_first` to `retry_cap`). Nothing
// uncommitted is reported committed meanwhile. Once the store has failed for `stall_after`,
// the queue is *stalled*: waiters that asked for it (client replies) are woken to answer with
// an error instead of waiting on, and clients' new requests are refused (ClientSession);
// realm-link frames keep waiting. The outage and the recovery are logged once each.
//
// A store whose commits are cheap (Store::commits_cheaply: SQLite without a disk sync) has a
// small batch committed on the event loop instead, when the commit thread is idle: once per
// turn of the loop (a posted flush runs after the handlers that were ready), everything those
// handlers queued goes in one transaction, and the replies are released at once, with no
// wake-up of the thread and none back (at pipeline 1 those hand-offs were a quarter of a send's
// CPU and a third runnable thread on the reply's path: docs/performance.md). A large batch,
// bulk work (store::is_bulk: a history index slice moves up to 50,000 rows), a busy thread, a
// failing store or a stop leave the work to the thread, as before; a failed
// inline commit hands its batch to the thread, first in line, so retries stay in one place.
//
// Everything but the commit itself runs on the event loop thread. Channels see it only as their
// CommitGate.
class CommitQueue final : public CommitGate {
 public:
  // Above this many queued mutations enqueue() still accepts (the loop must never block) but
  // logs a warning, again at each doubling: the store is not keeping up.
  static constexpr std::size_t backlog_warning = 100000;
  static constexpr std::chrono::milliseconds retry_first{100};
  static constexpr std::chrono::milliseconds retry_cap{2000};
  static constexpr std::chrono::seconds stall_after{5};
  // The largest batch committed on the loop: beyond it the loop would stop reading requests
  // for longer than the hand-off costs (a p1 turn of 50 sends queues about 100 mutations).
  static constexpr std::size_t max_inline_batch = 128;

  CommitQueue(asio::io_context& loop, chat::store::Store& store);
  ~CommitQueue() override;
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Called on the commit thread after each successful commit, with the batch and the
  // seconds it took (metrics). Set before start().
  void on_committed(
      std::function<void(const std::vector<chat::store::Mutation>& batch, double seconds)> hook) {
    on_committed_ = std::move(hook);
  }
  void start();
  // Commits what is queued, then stops the thread (blocks the caller for that last commit).
  // Returns false when the store still failed: the mutations left were never acknowledged, and
  // are dropped.
  bool stop();

  // Queues one request's mutations; returns their sequence number. An empty batch does no
  // work and returns the last sequence number handed out (what a reply must wait for).
  std::uint64_t enqueue(std::vector<chat::store::Mutation> batch);
  // The highest sequence number known to be committed.
  std::uint64_t committed() const override { return committed_; }
  // Whether a commit is running now or began within `window` before now: the realm is writing
  // (any thread may ask; how adaptive history readers tell, HistoryReaders). A commit that runs
  // long (a big batch, a slow disk) is writing all the while, not only at its start.
  bool wrote_within(std::chrono::steady_clock::duration window) const {
    if (committing_.load(std::memory_order_relaxed)) return true;
    const auto began = batch_began_.load(std::memory_order_relaxed);
    if (began == no_batch_yet) return false;
    return std::chrono::steady_clock::now().time_since_epoch().count() - began < window.count();
  }
  using LeaseClock = std::chrono::steady_clock;
  // True while the store has been failing for `stall_after` or longer, or while a lease the
  // store needs is not known valid (require_lease).
  bool stalled() const override { return stalled_ || lease_lapsed(); }
  // For a store shared with standbys: the realm answers only until `valid_until` (this
  // process's lease is known valid till then), so that a paused or cut-off holder answers
  // nothing once a standby may have taken over (not even what needs no commit). Replies
  // waiting for a commit at that moment are woken then, as by a stall, not 5 s later.
  void require_lease(std::function<LeaseClock::time_point()> valid_until) {
    valid_until_ = std::move(valid_until);
  }
  // Calls `wake` on the loop once `seq` is committed (at once if it already is).
  void when_committed(std::uint64_t seq, std::function<void()> wake) override;
  // Calls `wake` on the loop once `seq` is committed or the queue stalls, whichever is first
  // (at once if either holds already).
  void when_committed_or_stalled(std::uint64_t seq, std::function<void()> wake) override;

 private:
  struct Waiter {
    std::function<void()> wake;
    bool wakes_on_stall = false;
  };

  struct Outage;
  enum class Attempt { committed, retry, given_up };

  // The loop's side of committing: after the turn's handlers, commit what they queued on the
  // loop if that is allowed now (see the class comment), else wake the thread.
  void flush();
  // Commits `batch` (timing it for wrote_within and the on_committed hook); throws StoreError.
  void commit_timed(const std::vector<chat::store::Mutation>& batch);

  // The commit thread: its loop and the loop's steps.
  void commit_loop();
  // Waits for work (unless a failed `batch` is to be retried) and appends what was queued
  // meanwhile to `batch`, with `seq` the sequence number of its last request. False when
  // stopping and everything is committed; `last_attempt` when stopping.
  bool take_queued(std::vector<chat::store::Mutation>& batch, std::uint64_t& seq,
                   bool& last_attempt);
  Attempt try_commit(std::vector<chat::store::Mutation>& batch, Outage& outage, bool last_attempt);
  Attempt commit_failed(std::size_t batch_size, const char* why, Outage& outage, bool last_attempt);
  void report_committed(std::uint64_t seq, std::size_t batch_size, Outage& outage);
  // Loop side of the store's health.
  void store_failed();
  void store_recovered();
  void stall();
  // Wakes the waiters that asked to be woken by a stall (or a lapsed lease).
  void wake_stall_waiters();
  bool lease_lapsed() const { return valid_until_ && LeaseClock::now() >= valid_until_(); }
  // While replies wait for commits under a lease: a timer at the lease's end wakes them if it
  // was not renewed by then.
  void watch_lease();
  void mark_committed(std::uint64_t seq);

  asio::io_context& loop_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;  // until stop()
  chat::store::Store& store_;
  const bool commit_on_loop_;  // store_.commits_cheaply()

  // Loop thread only.
  std::uint64_t enqueued_ = 0;
  std::uint64_t committed_ = 0;
  std::multimap<std::uint64_t, Waiter> waiters_;
  std::size_t backlog_warned_ = 0;  // the backlog last warned about, since the last commit
  asio::steady_timer stall_timer_;
  bool stalled_ = false;
  std::function<LeaseClock::time_point()> valid_until_;
  asio::steady_timer lease_timer_;
  bool lease_timer_armed_ = false;
  bool flush_posted_ = false;
  std::vector<chat::store::Mutation> inline_batch_;  // flush()'s, empty between flushes
  std::vector<std::function<void()>> ready_wakes_;   // mark_committed()'s, empty between calls

  // Shared with the commit thread, under worker_.mutex().
  std::vector<chat::store::Mutation> pending_;
  std::uint64_t pending_seq_ = 0;  // sequence number of the last batch in pending_
  bool stopped_clean_ = true;      // written by the commit thread before it ends
  bool thread_busy_ = false;       // the thread holds a batch: committing it or retrying it
  // When the last commit attempt began (steady clock ticks), for wrote_within().
  static constexpr auto no_batch_yet = std::numeric_limits<std::chrono::steady_clock::rep>::min();
  std::atomic<std::chrono::steady_clock::rep> batch_began_{no_batch_yet};
  std::atomic<bool> committing_{false};  // a commit attempt is running, for wrote_within()

  std::function<void(const std::vector<chat::store::Mutation>&, double)> on_committed_;
  WorkerThread worker_;  // the commit thread; last: it ends before the rest goes
};

}  // namespace realmd
