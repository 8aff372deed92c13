#include "history_readers.hpp"

#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstdint>
#include <system_error>
#include <utility>

#include "core/history.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"
#include "worker_thread.hpp"

namespace realmd {
namespace {

// `reader_priority: background`: history pages are bulk reads beside interactive traffic, and
// their threads run SCHED_IDLE: any runnable thread of normal policy (the event loop, the commit
// thread, the clients) takes the core first, and one that wakes preempts a reader at once, which
// nice alone does not promise (nice 19 readers still tripled send's p99 beside a history load:
// docs/performance.md). A reader still gets a small share of a saturated machine, so history
// is slow there but never starves. Linux applies the policy per thread.
void enter_background() {
  const sched_param param{};
  if (sched_setscheduler(static_cast<pid_t>(gettid()), SCHED_IDLE, &param) != 0) {
    spdlog::warn("history reader: cannot run in the background (SCHED_IDLE)");
  }
}

bool serves(chat::config::ReaderPriority priority, ReaderLane lane) {
  return priority == chat::config::ReaderPriority::adaptive ||
         lane_for(priority, /*writes_flowing=*/false) == lane;
}

}  // namespace

ReaderLane lane_for(chat::config::ReaderPriority priority, bool writes_flowing) {
  switch (priority) {
    case chat::config::ReaderPriority::normal:
      return ReaderLane::normal;
    case chat::config::ReaderPriority::background:
      return ReaderLane::background;
    case chat::config::ReaderPriority::adaptive:
      break;
  }
  // Alone, history takes the cores; beside writes, the writes go first.
  return writes_flowing ? ReaderLane::background : ReaderLane::normal;
}

LaneConduct conduct_of(ReaderLane lane, const chat::config::HistoryConfig& config) {
  if (lane == ReaderLane::normal) return {};
  if (config.reader_priority == chat::config::ReaderPriority::background) {
    return {.idle_policy = true, .memory_map = false, .core_share = 1.0};
  }
  return {.idle_policy = false,
          .memory_map = false,
          .core_share = static_cast<double>(config.cpu_percent_while_writing) / 100.0};
}

std::chrono::nanoseconds pause_after(std::chrono::nanoseconds busy, double core_share,
                                     std::size_t threads) {
  if (core_share >= 1.0 || threads == 0) return std::chrono::nanoseconds(0);
  // Each thread busy for `busy` out of every busy + pause: threads * busy / (busy + pause) =
  // share.
  const double per_thread = core_share / static_cast<double>(threads);
  return std::chrono::nanoseconds(
      static_cast<std::int64_t>(static_cast<double>(busy.count()) * (1.0 / per_thread - 1.0)));
}

HistoryReaders::HistoryReaders(asio::io_context& loop, chat::store::Store& store,
                               const chat::config::HistoryConfig& config,
                               WritesFlowing writes_flowing)
    : loop_(loop),
      store_(store),
      config_(config),
      thread_count_(config.reader_threads == 0 ? 1 : config.reader_threads),
      writes_flowing_(std::move(writes_flowing)),
      wake_(loop) {}

HistoryReaders::~HistoryReaders() {
  stop();
}

void HistoryReaders::start() {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "history readers: eventfd");
  wake_.assign(fd);
  wait_for_replies();
  for (const ReaderLane lane : {ReaderLane::normal, ReaderLane::background}) {
    if (serves(config_.reader_priority, lane)) start_lane(lane);
  }
}

void HistoryReaders::start_lane(ReaderLane lane) {
  const LaneConduct conduct = conduct_of(lane, config_);
  for (std::size_t i = 0; i < thread_count_; ++i) {
    auto seat = std::make_unique<Seat>(
        Seat{lane, conduct, store_.open_history_reader({.memory_map = conduct.memory_map})});
    threads_.emplace_back([this, &seat = *seat] { run(seat); });
    seats_.push_back(std::move(seat));
  }
}

void HistoryReaders::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  for (Lane& each : lanes_) each.wanted.notify_all();
  stopped_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  seats_.clear();
  std::error_code ignored;
  wake_.close(ignored);
  // The last replies, if the loop runs on: no reader is left to hold anything meanwhile.
  std::vector<Reply> left;
  {
    std::lock_guard lock(replies_mutex_);
    left.swap(replies_);
  }
  for (Reply& reply : left) {
    asio::post(loop_, [reply = std::move(reply)]() mutable { reply.done(std::move(reply.text)); });
  }
}

void HistoryReaders::hand_back(Reply reply) {
  bool first = false;
  {
    std::lock_guard lock(replies_mutex_);
    first = replies_.empty();
    replies_.push_back(std::move(reply));
  }
  if (!first) return;  // the loop is woken already and takes this one with the rest
  const std::uint64_t one = 1;
  // Fails only when the counter is full (EAGAIN), and then the loop is woken anyway.
  [[maybe_unused]] const ssize_t ignored = ::write(wake_.native_handle(), &one, sizeof one);
}

void HistoryReaders::wait_for_replies() {
  wake_.async_wait(asio::posix::stream_descriptor::wait_read, [this](std::error_code ec) {
    if (ec) return;  // closed: stop() hands the rest over
    take_replies();
    wait_for_replies();
  });
}

void HistoryReaders::take_replies() {
  std::uint64_t count = 0;
  // Read before taking: a reply queued after this read wakes the loop again.
  [[maybe_unused]] const ssize_t ignored = ::read(wake_.native_handle(), &count, sizeof count);
  std::vector<Reply> ready;
  {
    std::lock_guard lock(replies_mutex_);
    ready.swap(replies_);
  }
  for (Reply& reply : ready) reply.done(std::move(reply.text));
}

void HistoryReaders::read(chat::store::HistoryQuery query, Done done) {
  const chat::config::ReaderPriority priority = config_.reader_priority;
  const bool writing =
      priority == chat::config::ReaderPriority::adaptive && writes_flowing_ && writes_flowing_();
  Lane& to = lane(lane_for(priority, writing));
  {
    std::lock_guard lock(mutex_);
    to.jobs.push_back({std::move(query), std::move(done)});
  }
  to.wanted.notify_one();
}

void HistoryReaders::run(const Seat& seat) {
  name_this_thread(seat.lane == ReaderLane::normal ? "history" : "history-bg");
  if (seat.conduct.idle_policy) enter_background();
  Lane& mine = lane(seat.lane);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      mine.wanted.wait(lock, [&] { return stopping_ || !mine.jobs.empty(); });
      if (mine.jobs.empty()) return;  // stopping, and every read is done
      job = std::move(mine.jobs.front());
      mine.jobs.pop_front();
    }
    // The read's time as it passed, not the thread's CPU time: it also holds what a read costs
    // elsewhere (a PostgreSQL backend's work), and under contention, when the sends need the
    // cores, a read that waited for one is paced the longer.
    const bool paced = seat.conduct.core_share < 1.0;
    const auto started =
        paced ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    std::string reply;
    try {
      reply = chat::core::history_reply(seat.reader->read_history(job.query));
    } catch (const chat::store::StoreError& e) {
      spdlog::error("history read of {} failed: {}", job.query.conversation, e.what());
      reply = chat::protocol::reply::error(chat::protocol::text::store_failed);
    }
    hand_back({std::move(job.done), std::move(reply)});
    if (paced) {
      pause_for(pause_after(std::chrono::steady_clock::now() - started, seat.conduct.core_share,
                            thread_count_));
    }
  }
}

void HistoryReaders::pause_for(std::chrono::nanoseconds pause) {
  if (pause.count() <= 0) return;
  std::unique_lock lock(mutex_);
  stopped_.wait_for(lock, pause, [this] { return stopping_; });
}

}  // namespace realmd
