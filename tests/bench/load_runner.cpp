#include "load_runner.hpp"

#include <asio/connect.hpp>
#include <functional>
#include <stdexcept>

namespace chatbench {

LoadRunner::LoadRunner(asio::io_context& io, Dialect dialect, asio::ssl::context* tls)
    : io_(io), dialect_(dialect), tls_(tls) {}

void LoadRunner::connect(const asio::ip::tcp::endpoint& server, std::size_t count,
                         std::size_t window) {
  const std::size_t first = connections_.size();
  for (std::size_t i = 0; i < count; ++i) {
    connections_.push_back(std::make_unique<LoadConnection>(io_, dialect_, tls_));
  }
  std::size_t next = first;
  std::size_t connected = 0;
  std::string failure;
  // Each completion starts the next connection: `window` attempts stay in flight.
  std::function<void()> start_next = [&] {
    if (next == connections_.size() || !failure.empty()) return;
    LoadConnection& connection = *connections_[next++];
    connection.socket().async_connect(server, [&](std::error_code ec) {
      if (ec) {
        if (failure.empty())
          failure = "connect to " + server.address().to_string() + ":" +
                    std::to_string(server.port()) + ": " + ec.message();
        return;
      }
      connection.socket().set_option(asio::ip::tcp::no_delay(true));
      connection.handshake([&](std::error_code handshake_error) {
        if (handshake_error) {
          if (failure.empty()) failure = "TLS handshake: " + handshake_error.message();
          return;
        }
        ++connected;
        start_next();
      });
    });
  };
  for (std::size_t i = 0; i < window; ++i) start_next();
  io_.restart();
  io_.run();
  if (!failure.empty()) throw std::runtime_error(failure);
  if (connected != count) throw std::runtime_error("not every connection was opened");
}

std::size_t LoadRunner::open_count() const {
  std::size_t open = 0;
  for (const auto& connection : connections_) open += connection->open() ? 1 : 0;
  return open;
}

PhaseResult LoadRunner::run(PhasePlan& plan) {
  PhaseResult result;
  const std::size_t taking_part = std::min(plan.sources.size(), connections_.size());
  if (taking_part == 0) return result;

  ActivePhase phase;
  phase.plan = &plan;
  phase.result = &result;
  std::size_t running = taking_part;
  asio::steady_timer timer(io_);

  // A watchdog: when no reply at all arrives for plan.reply_timeout, the connections still
  // waiting give up (a stalled server ends the phase with errors instead of hanging it).
  std::function<void()> watch = [&] {
    timer.expires_after(plan.reply_timeout);
    timer.async_wait([&, replies = result.replies](std::error_code ec) {
      if (ec) return;
      if (result.replies != replies) return watch();
      for (std::size_t i = 0; i < taking_part; ++i) {
        connections_[i]->abandon("no reply within the reply timeout");
      }
    });
  };
  phase.connection_finished = [&] {
    if (--running == 0) timer.cancel();
  };

  phase.started = Clock::now();
  phase.last_reply = phase.started;
  for (std::size_t i = 0; i < taking_part; ++i) connections_[i]->start(phase, *plan.sources[i]);

  if (running > 0) {
    if (plan.duration) {
      timer.expires_after(*plan.duration);
      timer.async_wait([&](std::error_code ec) {
        if (ec) return;
        phase.stopping = true;
        watch();
        for (std::size_t i = 0; i < taking_part && running > 0; ++i) {
          connections_[i]->stop_issuing();
        }
      });
    } else {
      watch();
    }
  }
  io_.restart();
  io_.run();
  result.elapsed = phase.last_reply - phase.started;
  return result;
}

}  // namespace chatbench
