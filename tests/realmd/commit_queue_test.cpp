// CommitQueue under a lease (a realm on PostgreSQL): replies waiting for a commit when the lease
// lapses are woken then, to answer with the error, not after the store's 5 s stall.
#include "commit_queue.hpp"

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "store/memory_store.hpp"

namespace {

using namespace std::chrono_literals;
using realmd::CommitQueue;

chat::store::Mutation a_user(const char* name) {
  return chat::store::PutUser{{name, "fake$x", name, "indonesia"}};
}

// Runs `loop` until `done` holds or `within` has passed.
template <typename Predicate>
void run_until(asio::io_context& loop, Predicate done, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    loop.restart();
    loop.run_for(10ms);
  }
}

// Runs `loop` until `seq` is committed (at most 10 s); the sequence number committed then.
std::uint64_t run_until_committed(asio::io_context& loop, const CommitQueue& queue,
                                  std::uint64_t seq) {
  run_until(
      loop, [&] { return queue.committed() >= seq; }, 10s);
  return queue.committed();
}

// A MemoryStore that says whether its commits are cheap and records the thread of each commit.
class RecordingStore final : public chat::store::Store {
 public:
  explicit RecordingStore(bool cheap) : cheap_(cheap) {}
  chat::store::Snapshot load_streaming(const chat::store::UnreadSink& unread) override {
    return inner.load_streaming(unread);
  }
  void commit(std::span<const chat::store::Mutation> batch) override {
    {
      std::lock_guard lock(mutex_);
      threads_.push_back(std::this_thread::get_id());
    }
    inner.commit(batch);
  }
  bool commits_cheaply() const override { return cheap_; }
  std::string signing_key(const std::function<std::string()>& make) override {
    return inner.signing_key(make);
  }
  std::unique_ptr<chat::store::HistoryReader> open_reader(
      const chat::store::HistoryReaderOptions& options) override {
    return inner.open_history_reader(options);
  }
  // The threads commit() was called on, failed attempts included.
  std::vector<std::thread::id> threads() {
    std::lock_guard lock(mutex_);
    return threads_;
  }

  chat::store::MemoryStore inner;

 private:
  const bool cheap_;
  std::mutex mutex_;
  std::vector<std::thread::id> threads_;
};

}  // namespace

// Commits rounds of two requests until one is committed on the loop (the thread takes what is
// queued whenever it looks: at its start, or right after a commit of its own, so a round may go
// to it). Returns whether one was; after it, the thread waits for work. Each round's two
// requests, queued in one turn, must be one commit when the loop commits them.
bool commit_a_round_on_the_loop(asio::io_context& loop, CommitQueue& queue, RecordingStore& store) {
  static int users = 0;
  for (int round = 0; round < 100; ++round) {
    const std::size_t commits_before = store.threads().size();
    const std::string number = std::to_string(++users);
    queue.enqueue({a_user(("a_" + number).c_str())});
    const std::uint64_t seq = queue.enqueue({a_user(("b_" + number).c_str())});
    std::uint64_t seen_on_wake = 0;
    queue.when_committed(seq, [&] { seen_on_wake = queue.committed(); });
    REQUIRE(run_until_committed(loop, queue, seq) == seq);
    CHECK(seen_on_wake == seq);
    const std::vector<std::thread::id> threads = store.threads();
    if (threads.back() == std::this_thread::get_id()) {
      CHECK(threads.size() == commits_before + 1);
      return true;
    }
  }
  return false;
}

// A started CommitQueue on a cheap RecordingStore: the loop may commit small batches itself.
struct CheapStoreQueue {
  asio::io_context loop;
  RecordingStore store{/*cheap=*/true};
  CommitQueue queue{loop, store};
  CheapStoreQueue() { queue.start(); }
};

TEST_CASE_FIXTURE(CheapStoreQueue,
                  "a small batch on a cheap store is committed on the loop, one turn's requests "
                  "at once") {
  CHECK(commit_a_round_on_the_loop(loop, queue, store));
  CHECK(queue.stop());
}

TEST_CASE_FIXTURE(CheapStoreQueue,
                  "bulk work is committed on the commit thread, never on the loop") {
  REQUIRE(commit_a_round_on_the_loop(loop, queue, store));  // the thread waits for work now
  const std::size_t earlier = store.threads().size();
  queue.enqueue({a_user("messi")});
  const std::uint64_t seq = queue.enqueue({chat::store::IndexHistory{1}});
  REQUIRE(run_until_committed(loop, queue, seq) == seq);
  const std::vector<std::thread::id> threads = store.threads();
  REQUIRE(threads.size() == earlier + 1);
  CHECK(threads.back() != std::this_thread::get_id());
  CHECK(queue.stop());
}

TEST_CASE("a store that is not cheap, or a large batch, is committed on the commit thread") {
  for (const bool cheap : {false, true}) {
    CAPTURE(cheap);
    asio::io_context loop;
    RecordingStore store(cheap);
    CommitQueue queue(loop, store);
    queue.start();
    std::vector<chat::store::Mutation> batch;
    // Over the loop's limit when the store is cheap; one user when it is not.
    const std::size_t users = cheap ? CommitQueue::max_inline_batch + 1 : 1;
    for (std::size_t i = 0; i < users; ++i) {
      std::string name = "user_";
      name += std::to_string(i);
      batch.push_back(chat::store::PutUser{{name, "fake$x", "u", "id"}});
    }
    const std::uint64_t seq = queue.enqueue(std::move(batch));
    REQUIRE(run_until_committed(loop, queue, seq) == seq);
    const std::vector<std::thread::id> threads = store.threads();
    REQUIRE(threads.size() == 1);
    CHECK(threads[0] != std::this_thread::get_id());
    CHECK(store.inner.load().users.size() == users);
    CHECK(queue.stop());
  }
}

TEST_CASE_FIXTURE(CheapStoreQueue,
                  "a failed commit on the loop is retried by the commit thread: nothing is lost") {
  REQUIRE(commit_a_round_on_the_loop(loop, queue, store));  // the thread waits for work now
  const std::size_t users_before = store.inner.load().users.size();
  const std::size_t earlier = store.threads().size();
  store.inner.fail_next_commits(true);
  const std::uint64_t first = queue.enqueue({a_user("messi")});
  run_until(
      loop, [&] { return store.threads().size() >= earlier + 2; }, 10s);
  // The loop tried once; the thread has the batch and retries it.
  const std::vector<std::thread::id> tried = store.threads();
  REQUIRE(tried.size() >= earlier + 2);
  CHECK(tried[earlier] == std::this_thread::get_id());
  CHECK(tried[earlier + 1] != std::this_thread::get_id());
  CHECK(queue.committed() < first);
  // Queued while the thread retries: behind the failed batch, never on the loop before it.
  const std::uint64_t second = queue.enqueue({a_user("henderson")});
  store.inner.fail_next_commits(false);
  CHECK(run_until_committed(loop, queue, second) == second);
  for (std::size_t i = earlier + 1; i < store.threads().size(); ++i) {
    CHECK(store.threads()[i] != std::this_thread::get_id());
  }
  CHECK(store.inner.load().users.size() == users_before + 2);
  CHECK(queue.stop());
}

TEST_CASE("a reply waiting for a failing commit is woken when the lease lapses") {
  asio::io_context loop;
  chat::store::MemoryStore store;
  store.fail_next_commits(true);  // retried, never committed: only a stall or the lease wakes it
  CommitQueue queue(loop, store);
  const auto valid_until = CommitQueue::LeaseClock::now() + 300ms;
  queue.require_lease([valid_until] { return valid_until; });
  queue.start();

  const auto asked_at = std::chrono::steady_clock::now();
  const std::uint64_t seq = queue.enqueue({a_user("messi")});
  bool woken = false;
  CommitQueue::LeaseClock::time_point woken_at{};
  queue.when_committed_or_stalled(seq, [&] {
    woken = true;
    woken_at = CommitQueue::LeaseClock::now();
  });
  CHECK_FALSE(queue.stalled());  // the lease is valid yet, and the store has not failed for long
  run_until(
      loop, [&] { return woken; }, 10s);
  REQUIRE(woken);
  CHECK(queue.stalled());
  CHECK(queue.committed() < seq);
  // Woken by the lease's end, not by the store's stall (which comes after stall_after).
  CHECK(woken_at >= valid_until);
  CHECK(woken_at - asked_at < CommitQueue::stall_after);

  store.fail_next_commits(false);
  CHECK(queue.stop());
}

TEST_CASE("a lease renewed in time wakes nothing: the reply waits for its commit") {
  asio::io_context loop;
  chat::store::MemoryStore store;
  store.fail_next_commits(true);
  CommitQueue queue(loop, store);
  auto valid_until = CommitQueue::LeaseClock::now() + 200ms;
  queue.require_lease([&valid_until] { return valid_until; });
  queue.start();

  const std::uint64_t seq = queue.enqueue({a_user("messi")});
  bool woken = false;
  queue.when_committed_or_stalled(seq, [&] { woken = true; });
  // Renewed past the first end: the watch moves on to the new one.
  valid_until = CommitQueue::LeaseClock::now() + 60s;
  run_until(
      loop, [] { return false; }, 600ms);
  CHECK_FALSE(woken);
  CHECK_FALSE(queue.stalled());

  store.fail_next_commits(false);  // the store works again: committed, and woken for that
  run_until(
      loop, [&] { return woken; }, 10s);
  CHECK(woken);
  CHECK(queue.committed() >= seq);
  CHECK(queue.stop());
}

// A MemoryStore whose commits wait until the test lets them through.
class GatedStore final : public chat::store::Store {
 public:
  chat::store::Snapshot load_streaming(const chat::store::UnreadSink& unread) override {
    return inner_.load_streaming(unread);
  }
  void commit(std::span<const chat::store::Mutation> batch) override {
    std::unique_lock lock(mutex_);
    committing_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    committing_ = false;
    inner_.commit(batch);
  }
  std::string signing_key(const std::function<std::string()>& make) override {
    return inner_.signing_key(make);
  }
  // Waits (at most `within`) until a commit has begun and waits at the gate.
  bool wait_until_committing(std::chrono::milliseconds within) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, within, [&] { return committing_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::unique_ptr<chat::store::HistoryReader> open_reader(
      const chat::store::HistoryReaderOptions& options) override {
    return inner_.open_history_reader(options);
  }

  chat::store::MemoryStore inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool committing_ = false;
  bool open_ = false;
};

TEST_CASE("wrote_within: a commit still running marks the realm writing, however long it runs") {
  asio::io_context loop;
  GatedStore store;
  CommitQueue queue(loop, store);
  queue.start();
  const std::uint64_t seq = queue.enqueue({a_user("messi")});
  REQUIRE(store.wait_until_committing(10s));
  CHECK(queue.wrote_within(0ns));  // it began before now, and it is not done
  store.open();
  REQUIRE(run_until_committed(loop, queue, seq) >= seq);
  CHECK_FALSE(queue.wrote_within(0ns));
  CHECK(queue.stop());
}

TEST_CASE("wrote_within: false before the first commit; a commit marks the realm writing") {
  asio::io_context loop;
  chat::store::MemoryStore store;
  CommitQueue queue(loop, store);
  queue.start();
  CHECK_FALSE(queue.wrote_within(1h));
  queue.enqueue({});  // an empty batch is no write
  CHECK_FALSE(queue.wrote_within(1h));

  const std::uint64_t seq = queue.enqueue({a_user("messi")});
  REQUIRE(run_until_committed(loop, queue, seq) >= seq);
  CHECK(queue.wrote_within(1h));
  CHECK_FALSE(queue.wrote_within(0ns));  // the commit began before now
  CHECK(queue.stop());
}
