#include "reply_waits.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "net/channel.hpp"
#include "ops/metrics.hpp"

namespace realmd {

ReplyWaits::ReplyWaits(asio::io_context& io, chat::core::Realm& realm, Metrics& metrics,
                       TimeoutHandler on_timeout)
    : io_(io), realm_(realm), metrics_(metrics), on_timeout_(std::move(on_timeout)) {}

void ReplyWaits::add(const chat::core::Wait& wait, std::weak_ptr<Channel> channel,
                     std::uint64_t place, std::size_t command) {
  auto timer = std::make_unique<asio::steady_timer>(io_, wait.timeout);
  const std::uint64_t waiter = wait.waiter;
  timer->async_wait([this, waiter](std::error_code ec) {
    if (!ec) timed_out(waiter);
  });
  pending_[waiter] = {
      .channel = std::move(channel), .place = place, .command = command, .timer = std::move(timer)};
}

void ReplyWaits::complete(std::vector<chat::core::Completion>& completions, std::uint64_t seq) {
  for (chat::core::Completion& done : completions) {
    auto it = pending_.find(done.waiter);
    if (it == pending_.end()) {
      spdlog::warn("completion for unknown waiter {}", done.waiter);
      if (!done.fetched_after_write.empty()) realm_.reply_lost(done.fetched_after_write);
      continue;
    }
    Pending pending = std::move(it->second);
    pending_.erase(it);  // its timer dies with `pending`: the handler sees operation_aborted
    metrics_.request(pending.command, Metrics::is_ok(done.reply));
    if (auto channel = pending.channel.lock()) {
      channel->fill(pending.place, std::move(done.reply), std::move(done.fetched_after_write), seq);
    } else if (!done.fetched_after_write.empty()) {
      realm_.reply_lost(done.fetched_after_write);
    }
  }
}

void ReplyWaits::expire_all() {
  std::vector<std::uint64_t> waiters;
  for (const auto& [waiter, pending] : pending_) waiters.push_back(waiter);
  for (std::uint64_t waiter : waiters) timed_out(waiter);
}

void ReplyWaits::timed_out(std::uint64_t waiter) {
  if (!pending_.contains(waiter)) return;  // completed while the expiry was queued
  on_timeout_(waiter);                     // its Outcome's completions come back through complete()
  // The realm answered for a waiter it no longer knew: release the place with an answer.
  if (pending_.contains(waiter)) {
    Pending pending = std::move(pending_[waiter]);
    pending_.erase(waiter);
    spdlog::error("waiter {} timed out without a completion", waiter);
    if (auto channel = pending.channel.lock()) channel->close(CloseReason::internal_error);
  }
}

}  // namespace realmd
