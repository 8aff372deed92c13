// realmd's small shared helpers: the co_spawn completion that logs (net/coroutine_exit.hpp),
// the accepting TLS handshake a stop cuts short (net/tls_accept.hpp), the worker thread
// whose stop wakes its loop (worker_thread.hpp), and the history readers' priority and lanes.
#include <doctest/doctest.h>
#include <sched.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "history_readers.hpp"
#include "net/coroutine_exit.hpp"
#include "net/tls_accept.hpp"
#include "worker_thread.hpp"

namespace {

using asio::ip::tcp;

// Runs `io` until `done` holds or `within` has passed; whether it holds.
template <typename Predicate>
bool run_until(asio::io_context& io, Predicate done,
               std::chrono::milliseconds within = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The default logger writes into `out` while it lives.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// A store whose history reader notes the scheduling policy of the thread that reads, and
// whether the reader was opened to read through a memory map.
class PolicyNotingStore final : public chat::store::Store {
 public:
  std::atomic<int> policy{-1};
  std::atomic<int> memory_mapped{-1};

  chat::store::Snapshot load_streaming(const chat::store::UnreadSink&) override { return {}; }
  void commit(std::span<const chat::store::Mutation>) override {}
  std::string signing_key(const std::function<std::string()>& make) override { return make(); }

 private:
  std::unique_ptr<chat::store::HistoryReader> open_reader(
      const chat::store::HistoryReaderOptions& options) override {
    return std::make_unique<Reader>(*this, options.memory_map);
  }

  class Reader final : public chat::store::HistoryReader {
   public:
    Reader(PolicyNotingStore& store, bool memory_map) : store_(store), memory_map_(memory_map) {}
    chat::store::HistoryPage read_history(const chat::store::HistoryQuery&) override {
      store_.policy = sched_getscheduler(0);
      store_.memory_mapped = memory_map_ ? 1 : 0;
      return {};
    }

   private:
    PolicyNotingStore& store_;
    bool memory_map_;
  };
};

chat::config::HistoryConfig history_config(std::size_t threads,
                                           chat::config::ReaderPriority priority) {
  chat::config::HistoryConfig config;
  config.reader_threads = threads;
  config.reader_priority = priority;
  return config;
}

// The policy `readers` ran one read with; -1 if the reply never came.
int policy_of_a_read(asio::io_context& loop, realmd::HistoryReaders& readers,
                     PolicyNotingStore& store) {
  store.policy = -1;
  bool replied = false;
  readers.read({}, [&](std::string) { replied = true; });
  return run_until(loop, [&] { return replied; }) ? store.policy.load() : -1;
}

// The policy the readers ran a read with, at `priority`; -1 if the reply never came.
int reader_policy(chat::config::ReaderPriority priority) {
  asio::io_context loop;
  PolicyNotingStore store;
  realmd::HistoryReaders readers(loop, store, history_config(1, priority));
  readers.start();
  const int policy = policy_of_a_read(loop, readers, store);
  readers.stop();
  return policy;
}

}  // namespace

TEST_CASE("log_coroutine_failure: nothing for a clean end, the exception logged otherwise") {
  const CapturedLog log;
  CHECK_FALSE(realmd::log_coroutine_failure(nullptr, "link 1: timer"));
  CHECK(log.text().empty());
  const auto error = std::make_exception_ptr(std::runtime_error("boom"));
  CHECK(realmd::log_coroutine_failure(error, "link 1: timer"));
  CHECK(log.text().find("error link 1: timer failed: boom") != std::string::npos);
  CHECK(realmd::log_coroutine_failure(error, "realm a: accepting peers", spdlog::level::critical));
  CHECK(log.text().find("critical realm a: accepting peers failed: boom") != std::string::npos);
}

TEST_CASE("TlsAccept: a handshake is listed while it runs; close_all cuts it short") {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::ssl::context tls(asio::ssl::context::tls_server);
  int gone = 0;
  bool handed_on = false;
  realmd::TlsAccept accepts("realm test", [&] { ++gone; });

  // A client that connects and never says a word: its handshake waits for a ClientHello.
  tcp::socket silent(io);
  silent.connect(acceptor.local_endpoint());
  accepts.accept(acceptor.accept(), tls, [&](realmd::Stream) { handed_on = true; });
  REQUIRE(run_until(io, [&] { return accepts.size() == 1; }));

  accepts.close_all();
  REQUIRE(run_until(io, [&] { return gone == 1; }));
  CHECK(accepts.size() == 0);
  CHECK_FALSE(handed_on);
}

TEST_CASE("TlsAccept: a client that leaves ends its handshake without handing a stream on") {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::ssl::context tls(asio::ssl::context::tls_server);
  int gone = 0;
  bool handed_on = false;
  realmd::TlsAccept accepts("realm test", [&] { ++gone; });

  tcp::socket leaving(io);
  leaving.connect(acceptor.local_endpoint());
  accepts.accept(acceptor.accept(), tls, [&](realmd::Stream) { handed_on = true; });
  leaving.close();  // a port probe
  REQUIRE(run_until(io, [&] { return gone == 1; }));
  CHECK(accepts.size() == 0);
  CHECK_FALSE(handed_on);
}

TEST_CASE("WorkerThread: stop() wakes a loop that waits for work, and joins it") {
  realmd::WorkerThread worker;
  bool saw_stop = false;
  char name[16] = {};
  worker.start("commit-thread-of-realmd", [&] {
    pthread_getname_np(pthread_self(), name, sizeof name);
    std::unique_lock lock(worker.mutex());
    worker.wake().wait(lock, [&] { return worker.stopping(); });
    saw_stop = true;
  });
  worker.stop();  // returns only once the loop has ended
  CHECK(saw_stop);
  CHECK(std::string(name) == "commit-thread-o");  // named, cut to Linux's 15 characters
  worker.stop();                                  // again: nothing
}

TEST_CASE("HistoryReaders: background readers run SCHED_IDLE, normal ones the default policy") {
  CHECK(reader_policy(chat::config::ReaderPriority::background) == SCHED_IDLE);
  CHECK(reader_policy(chat::config::ReaderPriority::normal) == SCHED_OTHER);
}

TEST_CASE("lane_for: adaptive reads go to the background only while writes flow") {
  using chat::config::ReaderPriority;
  using realmd::ReaderLane;
  CHECK(realmd::lane_for(ReaderPriority::adaptive, false) == ReaderLane::normal);
  CHECK(realmd::lane_for(ReaderPriority::adaptive, true) == ReaderLane::background);
  for (const bool writing : {false, true}) {
    CHECK(realmd::lane_for(ReaderPriority::background, writing) == ReaderLane::background);
    CHECK(realmd::lane_for(ReaderPriority::normal, writing) == ReaderLane::normal);
  }
}

TEST_CASE("HistoryReaders: adaptive reads beside writes go unmapped, at normal policy") {
  asio::io_context loop;
  PolicyNotingStore store;
  bool writing = false;
  realmd::HistoryReaders readers(loop, store,
                                 history_config(1, chat::config::ReaderPriority::adaptive),
                                 [&] { return writing; });
  readers.start();
  CHECK(policy_of_a_read(loop, readers, store) == SCHED_OTHER);
  CHECK(store.memory_mapped == 1);
  writing = true;
  // Not SCHED_IDLE: a reader preempted inside SQLite's process-wide mutex held up the loop's
  // commits; not mapped: SQLite drops the map at every read after a write.
  CHECK(policy_of_a_read(loop, readers, store) == SCHED_OTHER);
  CHECK(store.memory_mapped == 0);
  writing = false;
  CHECK(policy_of_a_read(loop, readers, store) == SCHED_OTHER);
  CHECK(store.memory_mapped == 1);
  readers.stop();
}

TEST_CASE("conduct_of: the background lane reads unmapped; adaptive paces it, background idles") {
  using chat::config::ReaderPriority;
  using realmd::ReaderLane;
  chat::config::HistoryConfig config = history_config(2, ReaderPriority::adaptive);
  config.cpu_percent_while_writing = 25;
  const realmd::LaneConduct alone = realmd::conduct_of(ReaderLane::normal, config);
  CHECK_FALSE(alone.idle_policy);
  CHECK(alone.memory_map);
  CHECK(alone.core_share == 1.0);
  const realmd::LaneConduct beside = realmd::conduct_of(ReaderLane::background, config);
  CHECK_FALSE(beside.idle_policy);
  CHECK_FALSE(beside.memory_map);
  CHECK(beside.core_share == doctest::Approx(0.25));
  config.reader_priority = ReaderPriority::background;
  const realmd::LaneConduct idle = realmd::conduct_of(ReaderLane::background, config);
  CHECK(idle.idle_policy);
  CHECK_FALSE(idle.memory_map);
  CHECK(idle.core_share == 1.0);
}

TEST_CASE("pause_after: the lane's threads together stay within their share of a core") {
  using std::chrono::microseconds;
  // Alone on the lane at 10%: busy 100 us, then 900 us paused.
  CHECK(realmd::pause_after(microseconds(100), 0.10, 1) == microseconds(900));
  // Two threads share the 10%: each at 5%, 100 us busy then 1,900 us paused.
  CHECK(realmd::pause_after(microseconds(100), 0.10, 2) == microseconds(1900));
  // A whole core (or more): never paused.
  CHECK(realmd::pause_after(microseconds(100), 1.0, 2).count() == 0);
}

TEST_CASE("HistoryReaders: every reply comes back on the loop, also those read as stop() drains") {
  asio::io_context loop;
  PolicyNotingStore store;
  realmd::HistoryReaders readers(loop, store,
                                 history_config(2, chat::config::ReaderPriority::adaptive));
  readers.start();
  constexpr int reads = 200;
  int replied = 0;
  for (int i = 0; i < reads; ++i) readers.read({}, [&](std::string) { ++replied; });
  CHECK(run_until(loop, [&] { return replied == reads; }));  // batched wake-ups lose none

  for (int i = 0; i < reads; ++i) readers.read({}, [&](std::string) { ++replied; });
  readers.stop();  // reads them all, with the loop not running meanwhile
  CHECK(run_until(loop, [&] { return replied == 2 * reads; }));
}
