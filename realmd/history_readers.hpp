#pragma once
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <chrono>
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

// Which threads serve a history read: those of normal scheduling policy, or those in the
// background (SCHED_IDLE: every runnable thread of normal policy goes first).
enum class ReaderLane { normal, background };

// The lane of a read at `priority` while the realm is writing (`writes_flowing`) or not.
ReaderLane lane_for(chat::config::ReaderPriority priority, bool writes_flowing);

// How the threads of a lane read (docs/architecture.md "History").
struct LaneConduct {
  bool idle_policy = false;  // SCHED_IDLE: every runnable thread of normal policy goes first
  bool memory_map = true;    // chat::store::HistoryReaderOptions::memory_map
  double core_share = 1.0;   // the part of one core the lane's reads may use together; 1: all
};
// The background lane serves reads beside writes: unmapped, and either SCHED_IDLE
// (`background`) or of normal policy within `cpu_percent_while_writing` of a core (`adaptive`).
// The normal lane reads mapped, unpaced.
LaneConduct conduct_of(ReaderLane lane, const chat::config::HistoryConfig& config);

// How long a reader pauses after a read that kept it busy for `busy`, so that the `threads` of
// a lane together read at most `core_share` of the time of one thread (and so use at most that
// share of one core, here or in the store's server).
std::chrono::nanoseconds pause_after(std::chrono::nanoseconds busy, double core_share,
                                     std::size_t threads);

// Reads history pages off the event loop (docs/architecture.md "History"): a few threads per
// lane, each with a store::HistoryReader of its own (for SQLite, a read-only connection, which
// WAL lets read while the commit thread writes), take reads from their lane's queue in arrival
// order, build the reply there and hand it back on the loop. History is far larger than memory
// can hold; a slow read holds up only the history replies queued behind it, never the loop.
// The queues need no bound of their own: a session has at most a few reads queued
// (ClientSession's max_history_reads_per_connection) and connections are bounded.
//
// Replies go back to the loop through a queue of their own and an eventfd, not asio::post: a
// post holds the io_context's mutex across the syscall that wakes the loop, and a reader in
// the background is preempted by the loop it wakes right there, mutex held; the loop then
// waited for it behind every runnable thread on the machine (docs/performance.md
// "History, session 6"). The eventfd is written only when the queue was empty: one wake-up
// per batch of replies.
//
// A thread keeps its policy for life: an unprivileged process may enter SCHED_IDLE but not
// leave it (Linux asks for CAP_SYS_NICE or an RLIMIT_NICE of 20), so `adaptive` switches
// lanes per read, not a thread's policy. Under `adaptive` no reader is SCHED_IDLE: a reader
// holding one of SQLite's process-wide mutexes, preempted there, held up the event loop's
// commit until no thread of normal policy was left to run (docs/performance.md "History,
// session 8"); its background lane is of normal policy and paced instead.
class HistoryReaders {
 public:
  // Called on the loop with the reply text (the page, or the store error).
  using Done = std::function<void(std::string reply)>;
  // Asked on the loop at each read, for `adaptive`: whether the realm is writing now.
  using WritesFlowing = std::function<bool()>;

  // `config`: reader_threads (per lane), reader_priority, cpu_percent_while_writing.
  HistoryReaders(asio::io_context& loop, chat::store::Store& store,
                 const chat::config::HistoryConfig& config, WritesFlowing writes_flowing = {});
  ~HistoryReaders();
  HistoryReaders(const HistoryReaders&) = delete;
  HistoryReaders& operator=(const HistoryReaders&) = delete;

  // Opens the readers (throws chat::store::StoreError; std::system_error without an eventfd)
  // and starts the threads.
  void start();
  // Finishes the reads queued (their replies still come on the loop), then ends the threads.
  void stop();

  // Queues a read of `query`; `done` runs on the loop once it is read.
  void read(chat::store::HistoryQuery query, Done done);

 private:
  struct Job {
    chat::store::HistoryQuery query;
    Done done;
  };
  // A queue and the threads that serve it, all at the lane's policy.
  struct Lane {
    std::deque<Job> jobs;
    std::condition_variable wanted;
  };
  // Each thread of a lane runs this, with the reader opened for it.
  struct Seat {
    ReaderLane lane;
    LaneConduct conduct;
    std::unique_ptr<chat::store::HistoryReader> reader;
  };

  struct Reply {
    Done done;
    std::string text;
  };

  void start_lane(ReaderLane lane);
  // Reader side: queues a reply, and wakes the loop when it is the first.
  void hand_back(Reply reply);
  // Loop side: waits for the wake-up, then runs the replies queued.
  void wait_for_replies();
  void take_replies();
  void run(const Seat& seat);
  // A paced reader's pause: until `pause` passed or stop().
  void pause_for(std::chrono::nanoseconds pause);
  Lane& lane(ReaderLane which) { return lanes_[static_cast<std::size_t>(which)]; }

  asio::io_context& loop_;
  chat::store::Store& store_;
  chat::config::HistoryConfig config_;
  std::size_t thread_count_;  // per lane
  WritesFlowing writes_flowing_;
  std::vector<std::unique_ptr<Seat>> seats_;
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  Lane lanes_[2];
  bool stopping_ = false;
  std::condition_variable stopped_;  // ends the pauses of paced readers

  asio::posix::stream_descriptor wake_;  // an eventfd
  std::mutex replies_mutex_;
  std::vector<Reply> replies_;  // read, not yet handed to the loop
};

}  // namespace realmd
