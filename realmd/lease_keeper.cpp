#include "lease_keeper.hpp"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>

#include "store/store.hpp"

namespace realmd {

LeaseKeeper::LeaseKeeper(asio::io_context& loop, chat::store::Lease& lease,
                         std::chrono::milliseconds duration, Events events)
    : loop_(loop), lease_(lease), duration_(duration), events_(std::move(events)) {}

void LeaseKeeper::start() {
  worker_.start("lease", [this] { run(); });
}

void LeaseKeeper::stop() {
  worker_.stop();
}

bool LeaseKeeper::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(worker_.mutex());
  return !worker_.wake().wait_for(lock, delay, [this] { return worker_.stopping(); });
}

void LeaseKeeper::run() {
  while (pause(epoch_ ? duration_ / 3 : std::chrono::milliseconds(0))) {
    if (!epoch_) {
      try_acquire();
      if (!epoch_ && !pause(duration_ / 4)) break;
      continue;
    }
    if (!renew()) return;  // lost: the realm server steps down
  }
  if (epoch_) {
    valid_until_.store(Clock::time_point::min().time_since_epoch().count());
    try {
      lease_.release(*epoch_);
    } catch (const chat::store::StoreError& e) {
      spdlog::warn("could not give up the lease (a standby takes over when it expires): {}",
                   e.what());
    }
  }
}

void LeaseKeeper::try_acquire() {
  const Clock::time_point asked = Clock::now();
  try {
    epoch_ = lease_.try_acquire();
    unreachable_logged_ = false;
  } catch (const chat::store::StoreError& e) {
    if (!unreachable_logged_) spdlog::warn("standby: cannot reach the database: {}", e.what());
    unreachable_logged_ = true;
    return;
  }
  if (!epoch_) return;
  valid_until_.store((asked + duration_).time_since_epoch().count(), std::memory_order_release);
  asio::post(loop_, [this, epoch = *epoch_] { events_.acquired(epoch); });
}

bool LeaseKeeper::renew() {
  const Clock::time_point asked = Clock::now();
  try {
    if (!lease_.renew(*epoch_)) {
      valid_until_.store(Clock::time_point::min().time_since_epoch().count());
      epoch_.reset();
      asio::post(loop_, [this] { events_.lost("another process took the lease over"); });
      return false;
    }
  } catch (const chat::store::StoreError& e) {
    // Not lost yet: if nobody takes it over meanwhile, a later renewal keeps it. Until then,
    // past valid_until() the realm answers nothing (CommitQueue::stalled).
    if (!unreachable_logged_) {
      spdlog::warn("cannot renew the lease: {}; the realm stops answering at its expiry", e.what());
    }
    unreachable_logged_ = true;
    return true;
  }
  if (unreachable_logged_) spdlog::info("lease renewed again (epoch {})", *epoch_);
  unreachable_logged_ = false;
  valid_until_.store((asked + duration_).time_since_epoch().count(), std::memory_order_release);
  return true;
}

}  // namespace realmd
