// CommitQueue under a lease (a realm on PostgreSQL): replies waiting for a commit when the lease
// lapses are woken then, to answer with the error, not after the store's 5 s stall.
#include "commit_queue.hpp"

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <chrono>

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

}  // namespace

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

TEST_CASE("wrote_within: false before the first commit; a commit marks the realm writing") {
  asio::io_context loop;
  chat::store::MemoryStore store;
  CommitQueue queue(loop, store);
  queue.start();
  CHECK_FALSE(queue.wrote_within(1h));
  queue.enqueue({});  // an empty batch is no write
  CHECK_FALSE(queue.wrote_within(1h));

  const std::uint64_t seq = queue.enqueue({a_user("messi")});
  run_until(
      loop, [&] { return queue.committed() >= seq; }, 10s);
  REQUIRE(queue.committed() >= seq);
  CHECK(queue.wrote_within(1h));
  CHECK_FALSE(queue.wrote_within(0ns));  // the commit began before now
  CHECK(queue.stop());
}
