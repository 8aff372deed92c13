#include "history_readers.hpp"

#include <sched.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <utility>

#include "core/history.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"
#include "worker_thread.hpp"

namespace realmd {
namespace {

// History pages are bulk reads beside interactive traffic. In the background their threads
// run SCHED_IDLE: any runnable thread of normal policy (the event loop, the commit thread, the
// clients) takes the core first, and one that wakes preempts a reader at once, which nice
// alone does not promise (nice 19 readers still tripled send's p99 beside a history load:
// docs/performance.md). A reader still gets a small share of a saturated machine, so history
// is slow there but never starves. Linux applies the policy per thread.
void set_priority(chat::config::ReaderPriority priority) {
  if (priority == chat::config::ReaderPriority::normal) return;
  const sched_param param{};
  if (sched_setscheduler(static_cast<pid_t>(gettid()), SCHED_IDLE, &param) != 0) {
    spdlog::warn("history reader: cannot run in the background (SCHED_IDLE)");
  }
}

}  // namespace

HistoryReaders::HistoryReaders(asio::io_context& loop, chat::store::Store& store,
                               std::size_t threads, chat::config::ReaderPriority priority)
    : loop_(loop), store_(store), thread_count_(threads == 0 ? 1 : threads), priority_(priority) {}

HistoryReaders::~HistoryReaders() {
  stop();
}

void HistoryReaders::start() {
  for (std::size_t i = 0; i < thread_count_; ++i) readers_.push_back(store_.open_history_reader());
  for (auto& reader : readers_) {
    threads_.emplace_back([this, &reader = *reader] { run(reader); });
  }
}

void HistoryReaders::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wanted_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  readers_.clear();
}

void HistoryReaders::read(chat::store::HistoryQuery query, Done done) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back({std::move(query), std::move(done)});
  }
  wanted_.notify_one();
}

void HistoryReaders::run(chat::store::HistoryReader& reader) {
  name_this_thread("history");
  set_priority(priority_);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wanted_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and every read is done
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    std::string reply;
    try {
      reply = chat::core::history_reply(reader.read_history(job.query));
    } catch (const chat::store::StoreError& e) {
      spdlog::error("history read of {} failed: {}", job.query.conversation, e.what());
      reply = chat::protocol::reply::error(chat::protocol::text::store_failed);
    }
    asio::post(loop_, [done = std::move(job.done), reply = std::move(reply)]() mutable {
      done(std::move(reply));
    });
  }
}

}  // namespace realmd
