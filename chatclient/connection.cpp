#include "chatclient/connection.hpp"

#include <algorithm>

namespace chat::client {
namespace {

// Far above any real reply (an inbox is bounded by the server); stops a runaway peer.
constexpr std::size_t max_frame_bytes = 256 * 1024 * 1024;

using Clock = std::chrono::steady_clock;

}  // namespace

Connection::Connection(Clock::duration timeout) : timeout_(timeout), frames_(max_frame_bytes) {}

void Connection::run_until(const std::function<bool()>& done, Clock::time_point deadline,
                           const char* what) {
  while (!done()) {
    if (io_.stopped()) io_.restart();
    if (io_.run_one_until(deadline) > 0) continue;
    if (Clock::now() >= deadline) {
      transport_->close();
      throw ConnectionError(std::string("timed out ") + what);
    }
    // Out of work: the read ended, so nothing more can arrive.
    check_open();
    throw ConnectionError("connection lost");
  }
}

void Connection::reconnect() {
  if (addresses_.empty()) addresses_.emplace_back(host_, port_);
  // From the address connected last, then the others in turn (a standby may have taken over).
  const auto current = std::find(addresses_.begin(), addresses_.end(), std::pair(host_, port_));
  const auto first =
      static_cast<std::size_t>(current == addresses_.end() ? 0 : current - addresses_.begin());
  const std::optional<TlsOptions> tls = tls_;
  std::optional<ConnectionError> failure;
  for (std::size_t i = 0; i < addresses_.size(); ++i) {
    const auto [host, port] = addresses_[(first + i) % addresses_.size()];
    close();
    ++generation_;  // handlers of the old socket still queued ignore what they got
    transport_ = std::make_unique<Transport>(io_);
    frames_ = FrameSplitter(max_frame_bytes);
    arrived_.clear();
    closed_.reset();
    unanswered_ = 0;
    heard_ = false;
    try {
      connect(host, port, tls);
      return;
    } catch (const ConnectionError& error) {
      failure = error;
    }
  }
  throw *failure;
}

void Connection::close() {
  if (connected_) transport_->close();
  connected_ = false;
  if (!closed_) closed_ = "connection closed";
}

void Connection::connect(const std::string& host, std::uint16_t port,
                         const std::optional<TlsOptions>& tls) {
  host_ = host;
  port_ = port;
  tls_ = tls;
  const std::string target = host + ":" + std::to_string(port);
  std::error_code error;
  asio::ip::tcp::resolver resolver(io_);
  const auto endpoints = resolver.resolve(host, std::to_string(port), error);
  if (error) throw ConnectionError("cannot connect to " + target + ": " + error.message());

  bool connected = false;
  asio::async_connect(transport_->socket(), endpoints,
                      [&](const std::error_code& result, const auto&) {
                        error = result;
                        connected = true;
                      });
  try {
    run_until([&] { return connected; }, Clock::now() + timeout_, "connecting");
  } catch (const ConnectionError& timeout) {
    throw ConnectionError("cannot connect to " + target + ": " + timeout.what());
  }
  if (error) throw ConnectionError("cannot connect to " + target + ": " + error.message());
  transport_->socket().set_option(asio::ip::tcp::no_delay(true));
  connected_ = true;
  if (tls) {
    try {
      handshake(host, *tls);
    } catch (const ConnectionError& failure) {
      throw ConnectionError("cannot connect to " + target + ": " + failure.what());
    }
  }
  start_read();
}

void Connection::handshake(const std::string& host, const TlsOptions& tls) {
  if (const std::error_code error = transport_->use_tls(tls, host)) {
    transport_->close();
    throw ConnectionError("cannot load the CA certificates " +
                          (tls.ca_file.empty() ? "of the system" : "from " + tls.ca_file.string()) +
                          ": " + error.message());
  }
  std::optional<std::error_code> result;
  transport_->async_handshake([&result](const std::error_code& error) { result = error; });
  run_until([&] { return result.has_value(); }, Clock::now() + timeout_, "in the TLS handshake");
  if (*result) {
    transport_->close();
    throw ConnectionError("TLS handshake failed: " + transport_->handshake_failure(*result));
  }
}

void Connection::start_read() {
  transport_->async_read_some(
      asio::buffer(read_buffer_),
      [this, generation = generation_](const std::error_code& error, std::size_t length) {
        if (generation != generation_) return;
        if (error) {
          if (error == asio::error::operation_aborted) return;  // closed by us
          if (!transport_->is_closed_by_peer(error)) {
            closed_ = "connection lost: " + error.message();
          } else if (!heard_ && !tls_) {
            // What a plain client on a TLS port sees: the realm drops it after a failed
            // handshake, without a word.
            closed_ = "connection closed by server before it said anything (a TLS port? try --tls)";
          } else {
            closed_ = "connection closed by server";
          }
          return;
        }
        heard_ = true;
        frames_.append({read_buffer_.data(), length});
        take_frames();
        if (!closed_) start_read();
      });
}

void Connection::take_frames() {
  while (auto frame = frames_.next_frame()) {
    const FrameKind kind = kind_of_frame(*frame);
    if (kind == FrameKind::reply) {
      if (unanswered_ == 0) {
        // Nobody asked: said before a close. Shown after the events that came before it.
        arrived_.push_back({FrameKind::event, std::move(*frame)});
        arrived_.back().notice = true;
        continue;
      }
      --unanswered_;
    }
    arrived_.push_back({kind, std::move(*frame)});
  }
  hand_over_events();
  if (frames_.overflowed()) {
    closed_ = "reply too large";
    transport_->close();
  }
}

void Connection::hand_over_events() {
  while (!arrived_.empty() && arrived_.front().kind == FrameKind::event) {
    const Frame event = std::move(arrived_.front());
    arrived_.pop_front();
    const EventHandler& handler = event.notice ? on_notice_ : on_event_;
    if (handler) handler(event.text);
  }
}

void Connection::check_open() const {
  if (closed_) throw ConnectionError(*closed_);
}

void Connection::send_line(std::string_view line) {
  check_open();
  std::string request(line);
  request += '\n';
  std::optional<std::error_code> written;
  ++unanswered_;
  transport_->async_write(asio::buffer(request), [&written](const std::error_code& result,
                                                            std::size_t) { written = result; });
  run_until([&] { return written.has_value(); }, Clock::now() + timeout_, "sending the request");
  if (*written) throw ConnectionError("connection lost: " + written->message());
}

std::string Connection::read_reply() {
  const auto reply_or_closed = [this] {
    hand_over_events();
    return !arrived_.empty() || closed_;
  };
  run_until(reply_or_closed, Clock::now() + timeout_, "waiting for the reply");
  // A reply that arrived before the connection closed is still this request's answer.
  if (arrived_.empty()) check_open();
  std::string reply = std::move(arrived_.front().text);
  arrived_.pop_front();
  // Events that came after this reply: handed over once the caller has shown it, the next
  // time the io_context runs.
  if (!arrived_.empty()) asio::post(io_, [this] { hand_over_events(); });
  return reply;
}

void Connection::pass_events_for(Clock::duration duration) {
  const auto until = Clock::now() + duration;
  while (Clock::now() < until) {
    check_open();
    if (io_.stopped()) io_.restart();
    io_.run_one_until(until);
  }
  check_open();
}

}  // namespace chat::client
