#pragma once
#include <asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "store/lease.hpp"
#include "worker_thread.hpp"

namespace realmd {

// Holds a realm's lease for this process (docs/architecture.md "Lease and fencing"), on a
// thread of its own so that the event loop never waits on the database. As a standby it tries
// to take the lease every quarter of its duration; as the holder it renews it every third.
// Events are posted to the loop. The lease is known valid until `valid_until()`: the start of
// the last successful renewal plus the duration, which is never later than the expiry the
// database recorded, so a standby can only take over after this process stopped answering.
class LeaseKeeper {
 public:
  using Clock = std::chrono::steady_clock;
  struct Events {
    std::function<void(std::uint64_t epoch)> acquired;  // this process holds the lease now
    std::function<void(const std::string& why)> lost;   // another one took it over
  };

  LeaseKeeper(asio::io_context& loop, chat::store::Lease& lease, std::chrono::milliseconds duration,
              Events events);
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  void start();
  // Stops the thread; a held lease is given up (a clean stop: a standby takes over at once).
  void stop();
  // Any thread. Clock::time_point::min() while this process does not hold the lease.
  Clock::time_point valid_until() const {
    return Clock::time_point(Clock::duration(valid_until_.load(std::memory_order_acquire)));
  }

 private:
  void run();
  void try_acquire();
  bool renew();  // false: lost
  // Waits `delay` or until stop(); false when stopping.
  bool pause(std::chrono::milliseconds delay);

  asio::io_context& loop_;
  chat::store::Lease& lease_;
  std::chrono::milliseconds duration_;
  Events events_;
  std::optional<std::uint64_t> epoch_;  // the keeper thread's
  std::atomic<Clock::rep> valid_until_{Clock::time_point::min().time_since_epoch().count()};
  bool unreachable_logged_ = false;

  WorkerThread worker_;  // last: its thread ends before the rest goes
};

}  // namespace realmd
