#include "load_connection.hpp"

#include <asio/buffer.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <utility>

namespace chatbench {
namespace {

constexpr std::size_t read_chunk = 64 * 1024;

}  // namespace

LoadConnection::LoadConnection(asio::io_context& io, Dialect dialect, asio::ssl::context* tls)
    : socket_(io), scanner_(dialect), received_(2 * read_chunk) {
  if (tls != nullptr)
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls);
}

void LoadConnection::handshake(std::function<void(std::error_code)> done) {
  if (!tls_) {
    done({});
    return;
  }
  tls_->async_handshake(asio::ssl::stream_base::client,
                        [done = std::move(done)](std::error_code ec) { done(ec); });
}

void LoadConnection::start(ActivePhase& phase, RequestSource& source) {
  phase_ = &phase;
  source_ = &source;
  exhausted_ = false;
  finished_ = false;
  in_flight_.assign(phase.plan->pipeline, InFlight{});
  oldest_ = 0;
  in_flight_count_ = 0;
  if (!socket_.is_open()) {
    fail("connection closed before the phase");
    return;
  }
  fill();
  flush();
  finish_if_idle();
}

void LoadConnection::stop_issuing() {
  finish_if_idle();
}

void LoadConnection::fill() {
  const std::size_t pipeline = in_flight_.size();
  while (!exhausted_ && in_flight_count_ < pipeline && phase_->may_issue()) {
    const std::size_t start = pending_.size();
    if (!source_->next(pending_)) {
      exhausted_ = true;
      break;
    }
    InFlight& slot = in_flight_[(oldest_ + in_flight_count_) % pipeline];
    slot.sent = Clock::now();
    slot.request.assign(pending_, start, pending_.size() - start);
    ++in_flight_count_;
    ++phase_->issued;
  }
  if (in_flight_count_ > 0 && !reading_) read();
}

void LoadConnection::flush() {
  if (writing_ || pending_.empty() || !socket_.is_open()) return;
  writing_ = true;
  std::swap(pending_, writing_buffer_);
  pending_.clear();
  on_stream([this](auto& stream) {
    asio::async_write(stream, asio::buffer(writing_buffer_),
                      [this](std::error_code ec, std::size_t) {
                        writing_ = false;
                        if (ec) {
                          fail("write failed: " + ec.message());
                          return;
                        }
                        flush();
                      });
  });
}

void LoadConnection::read() {
  // Room for the next chunk: move the unconsumed tail to the front, or grow for a long reply.
  if (received_.size() - received_end_ < read_chunk) {
    const std::size_t kept = received_end_ - received_begin_;
    std::memmove(received_.data(), received_.data() + received_begin_, kept);
    received_begin_ = 0;
    received_end_ = kept;
    if (received_.size() - received_end_ < read_chunk) received_.resize(received_.size() * 2);
  }
  reading_ = true;
  const asio::mutable_buffer room(received_.data() + received_end_,
                                  received_.size() - received_end_);
  auto done = [this](std::error_code ec, std::size_t bytes) {
    reading_ = false;
    if (ec) {
      fail(ec == asio::error::eof ? "server closed the connection"
                                  : "read failed: " + ec.message());
      return;
    }
    on_read(bytes);
  };
  if (tls_) {
    tls_->async_read_some(room, done);
  } else {
    socket_.async_read_some(room, done);
  }
}

void LoadConnection::on_read(std::size_t bytes) {
  received_end_ += bytes;
  for (;;) {
    const std::string_view rest(received_.data() + received_begin_,
                                received_end_ - received_begin_);
    const std::size_t length = scanner_.next_reply(rest);
    if (length == 0) break;
    scanner_.consumed();
    on_reply(rest.substr(0, length));
    received_begin_ += length;
  }
  if (received_begin_ == received_end_) received_begin_ = received_end_ = 0;
  if (finished_) return;
  fill();
  flush();
  if (in_flight_count_ > 0) {
    if (!reading_) read();
  } else {
    finish_if_idle();
  }
}

void LoadConnection::on_reply(std::string_view reply) {
  if (finished_ || in_flight_count_ == 0) return;  // unrequested bytes: not ours to count
  const Clock::time_point now = Clock::now();
  InFlight& request = in_flight_[oldest_];
  oldest_ = (oldest_ + 1) % in_flight_.size();
  --in_flight_count_;

  PhaseResult& result = *phase_->result;
  const PhasePlan& plan = *phase_->plan;
  ++result.replies;
  result.latency.record(now - request.sent);
  phase_->last_reply = now;
  if (scanner_.is_ok(reply) || (plan.also_ok && plan.also_ok(reply))) {
    result.items += plan.items ? plan.items(reply) : 1;
    return;
  }
  ++result.errors;
  if (result.first_error.empty()) {
    std::string_view sent = request.request;
    while (!sent.empty() && (sent.back() == '\n' || sent.back() == '\r')) sent.remove_suffix(1);
    std::string_view answer = reply;
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) {
      answer.remove_suffix(1);
    }
    result.first_error = std::string(sent) + " -> " + std::string(answer);
  }
}

void LoadConnection::fail(std::string_view why) {
  if (finished_) return;
  PhaseResult& result = *phase_->result;
  const std::uint64_t lost = in_flight_count_ > 0 ? in_flight_count_ : 1;
  result.errors += lost;
  if (result.first_error.empty()) result.first_error = std::string(why);
  in_flight_count_ = 0;
  exhausted_ = true;
  std::error_code ignored;
  socket_.close(ignored);
  finish_if_idle();
}

void LoadConnection::abandon(std::string_view why) {
  fail(why);
}

void LoadConnection::finish_if_idle() {
  if (finished_ || in_flight_count_ > 0) return;
  if (!exhausted_ && phase_->may_issue()) return;
  finished_ = true;
  phase_->connection_finished();
}

}  // namespace chatbench
