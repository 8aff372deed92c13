#include "history_readers.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <utility>

#include "core/history.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"

namespace realmd {
namespace {

// History pages are bulk reads beside interactive traffic: on a busy machine the event loop
// and the commit thread (nice 0) go first. Linux applies nice per thread.
constexpr int reader_nice = 5;

void lower_priority() {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), reader_nice) != 0) {
    spdlog::debug("history reader: cannot lower its priority");
  }
}

}  // namespace

HistoryReaders::HistoryReaders(asio::io_context& loop, chat::store::Store& store,
                               std::size_t threads)
    : loop_(loop), store_(store), thread_count_(threads == 0 ? 1 : threads) {}

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
  lower_priority();
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
