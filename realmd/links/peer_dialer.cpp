#include "links/peer_dialer.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <utility>

#include "links/peer_link.hpp"
#include "net/coroutine_exit.hpp"
#include "outcome_runner.hpp"

namespace realmd {

using asio::ip::tcp;

PeerDialer::PeerDialer(asio::io_context& io, std::string peer, PeerDialerServices services)
    : peer_(std::move(peer)),
      services_(std::move(services)),
      resolver_(io),
      socket_(io),
      wake_(io),
      pause_(io),
      deadline_(io) {}

void PeerDialer::start() {
  running_ = true;
  auto self = shared_from_this();
  asio::co_spawn(
      socket_.get_executor(), [self] { return self->run(); },
      [self](std::exception_ptr error) {
        self->running_ = false;
        log_coroutine_failure(error, "dialer of realm " + self->peer_);
      });
}

void PeerDialer::stop() {
  stopped_ = true;
  std::error_code ignored;
  resolver_.cancel();
  socket_.close(ignored);
  if (stream_) stream_->close();
  wake_.cancel();
  pause_.cancel();
  deadline_.cancel();
}

// After every co_await: `stopped_` first, since the server may be gone after stop().
asio::awaitable<void> PeerDialer::run() {
  while (!stopped_) {
    if (services_.linked(peer_)) {  // e.g. the peer dialled us: nothing to do until it drops
      co_await sleep(wake_, std::chrono::steady_clock::duration::max());
      continue;
    }
    const auto address = services_.realm.dial_address(peer_, turn_);
    if (!address) break;  // no longer a peer we dial
    std::string error = co_await connect(*address);
    if (stopped_) break;
    if (error.empty()) error = co_await secure();
    if (stopped_) break;
    bool try_next_now = false;
    if (!error.empty()) {
      record_failure("connect: " + error);
      try_next_now = next_address();
    } else if (services_.linked(peer_)) {
      stream_.reset();  // a link came up while we connected: keep that one
      continue;
    } else {
      std::shared_ptr<PeerLink> link = services_.open_link(std::move(*stream_), peer_);
      stream_.reset();
      while (!stopped_ && !link->released()) {
        co_await sleep(wake_, std::chrono::steady_clock::duration::max());
      }
      if (stopped_) break;
      if (link->was_authenticated()) {
        backoff_.reset();
        last_failure_.clear();
      } else {
        record_failure(link->failure());
        try_next_now = next_address();
      }
    }
    if (!try_next_now) co_await sleep(pause_, backoff_.next());
  }
}

bool PeerDialer::next_address() {
  // The peer's processes in turn (holder and standbys: only one listens); the backoff waits
  // only once every address has failed.
  ++turn_;
  const std::size_t addresses = services_.realm.dial_addresses(peer_);
  return addresses > 1 && turn_ % addresses != 0;
}

asio::awaitable<std::string> PeerDialer::connect(const chat::core::Realm::PeerAddress& address) {
  // The deadline closes what is in progress; the attempt number keeps a late expiry from
  // touching a later attempt.
  const std::uint64_t attempt = ++attempt_;
  connecting_ = true;
  timed_out_ = false;
  deadline_.expires_after(connect_timeout);
  deadline_.async_wait([self = shared_from_this(), attempt](std::error_code ec) {
    if (ec || attempt != self->attempt_ || !self->connecting_) return;
    self->timed_out_ = true;
    std::error_code ignored;
    self->resolver_.cancel();
    self->socket_.close(ignored);
  });
  std::error_code ec;
  const tcp::resolver::results_type endpoints = co_await resolver_.async_resolve(
      address.host, std::to_string(address.port), asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && !stopped_ && !timed_out_) {
    co_await asio::async_connect(socket_, endpoints, asio::redirect_error(asio::use_awaitable, ec));
  }
  connecting_ = false;
  deadline_.cancel();
  if (timed_out_) co_return "timed out after " + std::to_string(connect_timeout.count()) + "s";
  if (ec) co_return ec.message();
  co_return std::string();
}

asio::awaitable<std::string> PeerDialer::secure() {
  stream_ = services_.tls ? Stream(std::move(socket_), *services_.tls) : Stream(std::move(socket_));
  const std::error_code ec = co_await stream_->handshake(
      Stream::Side::client, std::chrono::duration_cast<std::chrono::milliseconds>(connect_timeout),
      peer_);
  if (ec) {
    stream_.reset();
    co_return "TLS handshake: " + ec.message();
  }
  co_return std::string();
}

asio::awaitable<void> PeerDialer::sleep(asio::steady_timer& timer,
                                        std::chrono::steady_clock::duration delay) {
  if (stopped_) co_return;
  if (delay == std::chrono::steady_clock::duration::max()) {
    timer.expires_at(std::chrono::steady_clock::time_point::max());
  } else {
    timer.expires_after(delay);
  }
  std::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void PeerDialer::record_failure(const std::string& reason) {
  // A failure that repeats (a peer down for long) is logged once, then at debug level.
  const bool repeated = reason == last_failure_;
  spdlog::log(repeated ? spdlog::level::debug : spdlog::level::warn,
              "realm {}: dialing realm {} failed: {}", services_.realm.settings().name, peer_,
              reason);
  last_failure_ = reason;
  // An accepted link may be up meanwhile; the realm's link state is that link's then.
  if (services_.linked(peer_)) return;
  chat::core::Outcome outcome = services_.realm.link_down(peer_, reason);
  services_.outcomes.run(outcome);
}

}  // namespace realmd
