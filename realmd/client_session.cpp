#include "client_session.hpp"

#include <spdlog/spdlog.h>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "commit_queue.hpp"
#include "history_readers.hpp"
#include "net/endpoint_formatter.hpp"
#include "ops/logging.hpp"
#include "ops/metrics.hpp"
#include "outcome_runner.hpp"
#include "password_pool.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"
#include "reply_waits.hpp"

namespace realmd {

namespace text = chat::protocol::text;

namespace {
// History reads one connection may have queued at once: a client pipelining many cannot fill
// the readers' queue ahead of everyone else's.
constexpr std::size_t max_history_reads_per_connection = 4;
}  // namespace

ClientSession::ClientSession(Stream stream, std::uint64_t connection_id, Limits limits,
                             std::chrono::milliseconds unauthenticated_idle,
                             const ClientServices& services, std::unique_ptr<WireFormat> wire)
    : Channel(std::move(stream), limits, services.commits, std::move(wire)),
      unauthenticated_idle_(unauthenticated_idle),
      services_(services) {
  conn_.id = connection_id;
  std::error_code ec;
  const auto peer = this->stream().tcp().remote_endpoint(ec);
  if (!ec) conn_.address = peer.address().to_string();
  set_label(ec ? fmt::format("client {}", conn_.id)
               : fmt::format("client {} ({})", conn_.id, peer));
  // One text for all sessions: the channel keeps a view of it.
  static const std::string store_stall_reply = chat::protocol::reply::error(text::store_failed);
  answer_store_stall_with(store_stall_reply);
  rearm_idle_limit();
}

void ClientSession::rearm_idle_limit() {
  const bool limited = conn_.user.empty() && unauthenticated_idle_.count() > 0;
  expect_request_by(limited ? Clock::now() + unauthenticated_idle_ : Clock::time_point::max());
}

void ClientSession::on_timed_out(CloseReason reason) {
  reply_error(reason == CloseReason::idle_timeout ? text::idle_timeout : text::request_timeout,
              std::nullopt, reason);  // not a request: nothing to count
}

asio::awaitable<void> ClientSession::on_request(std::string_view line) {
  expect_request_by(Clock::time_point::max());  // a request in progress is not idleness
  co_await serve(line);
  rearm_idle_limit();  // the request may have bound or ended a session
}

asio::awaitable<void> ClientSession::serve(std::string_view line) {
  const std::size_t command = Metrics::command_of(line);
  // A store failing for a while: refuse rather than pile up changes it cannot store.
  if (services_.commits.stalled()) {
    reply_error(text::store_failed, command);
    co_return;
  }
  chat::core::Outcome outcome = services_.realm.handle(conn_, line);
  if (outcome.password) {
    services_.outcomes.run(outcome);
    if (outcome.password->delay.count() > 0) {  // a username under attack: slowed for all
      asio::steady_timer slowdown(executor(), outcome.password->delay);
      std::error_code ignored;
      co_await slowdown.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      if (is_closed()) co_return;
    }
    // auth/register: the slow hash runs on the pool; no further line of this connection is
    // handled meanwhile, since the result changes the connection's session.
    chat::core::PasswordResult result =
        co_await services_.passwords.async_run(std::move(*outcome.password), asio::use_awaitable);
    if (is_closed()) co_return;  // the client left: its request is dropped unanswered
    outcome = services_.realm.resume(conn_, result);
  }
  if (outcome.history) {
    co_await wait_for_history_slot();
    if (is_closed()) co_return;
  }
  carry_out(std::move(outcome), command);
}

asio::awaitable<void> ClientSession::wait_for_history_slot() {
  while (history_reads_ >= max_history_reads_per_connection && !is_closed()) {
    if (!history_slot_) history_slot_ = std::make_unique<asio::steady_timer>(executor());
    history_slot_->expires_at(Clock::time_point::max());
    std::error_code ec;
    co_await history_slot_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void ClientSession::read_history(chat::store::HistoryQuery query, std::uint64_t seq,
                                 std::size_t command) {
  const std::uint64_t place = reserve();
  ++history_reads_;
  auto self = std::static_pointer_cast<ClientSession>(shared_from_this());
  // Read-your-writes: the read starts once everything queued before the request is committed.
  services_.commits.when_committed_or_stalled(
      seq, [self, place, seq, command, query = std::move(query)]() mutable {
        auto answer = [self, place, command](std::string reply) {
          --self->history_reads_;
          if (self->history_slot_) self->history_slot_->cancel();
          self->services_.metrics.request(command, Metrics::is_ok(reply));
          if (!self->is_closed()) self->fill(place, std::move(reply), {}, 0);
        };
        if (self->services_.commits.committed() < seq) {  // stalled
          answer(chat::protocol::reply::error(text::store_failed));
          return;
        }
        self->services_.history.read(std::move(query), std::move(answer));
      });
}

void ClientSession::carry_out(chat::core::Outcome outcome, std::size_t command) {
  // The label names the client's address; the events never hold a password or token.
  for (const std::string& event : outcome.audit) audit().warn("{}: {}", label(), event);
  const std::uint64_t seq = services_.outcomes.run(outcome);
  if (outcome.history) {
    read_history(std::move(*outcome.history), seq, command);
    return;
  }
  if (outcome.wait) {  // the reply comes later; its place in the order is kept
    services_.waits.add(*outcome.wait, weak_from_this(), reserve(), command);
    return;
  }
  if (!outcome.has_reply()) return;  // a blank line
  services_.metrics.request(command, Metrics::is_ok(outcome.reply));
  Reply reply{.text = std::move(outcome.reply),
              .commit_seq = seq,
              .ids = std::move(outcome.fetched_after_write),
              .close_after = {}};
  if (outcome.close) reply.close_after = CloseReason::requested;
  push(std::move(reply));
}

void ClientSession::reply_error(std::string_view message, std::optional<std::size_t> command,
                                std::optional<CloseReason> close_after) {
  if (command) services_.metrics.request(*command, false);
  // Waits like any reply, so that it cannot overtake the replies before it.
  push({.text = chat::protocol::reply::error(message),
        .commit_seq = services_.commits.enqueue({}),
        .ids = {},
        .close_after = close_after});
}

void ClientSession::push_event(chat::core::Push event, std::uint64_t seq) {
  push({.text = std::move(event.event),
        .commit_seq = seq,
        .ids = std::move(event.fetched_after_write),
        .close_after = {},
        .is_push = true});
}

void ClientSession::on_request_too_long() {
  reply_error(text::line_too_long, Metrics::unknown_command, CloseReason::line_too_long);
}

void ClientSession::on_written(const std::vector<std::uint64_t>& ids) {
  // Marking fetched is bookkeeping: nobody waits for its commit.
  services_.commits.enqueue(services_.realm.reply_written(ids));
}

void ClientSession::on_lost(const std::vector<std::uint64_t>& ids) {
  services_.realm.reply_lost(ids);
}

void ClientSession::on_closed(CloseReason) {
  services_.realm.disconnected(conn_);
  services_.closed(conn_.id);
}

}  // namespace realmd
