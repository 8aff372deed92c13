#include "net/channel.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/dispatch.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "net/coroutine_exit.hpp"
#include "net/line_wire.hpp"

namespace realmd {
namespace {

// How long a connection closed after an error reply keeps reading (and dropping) the peer's
// bytes: closing with unread input sends a reset, which can destroy the reply in flight.
constexpr std::chrono::seconds linger_time{2};

// Capacity the request buffer and the writer's buffer list keep between requests: what usual
// requests and pipelined bursts need, without an allocation each. Past it they are freed once
// drained, so an idle connection does not hold what one long request or burst needed.
constexpr std::size_t kept_request_capacity = 4096;
constexpr std::size_t kept_write_buffers = 64;

// Removes the first `bytes` bytes from `buffers` (those written already).
void drop_front(std::vector<asio::const_buffer>& buffers, std::size_t bytes) {
  auto first_left = buffers.begin();
  while (first_left != buffers.end() && bytes >= first_left->size()) {
    bytes -= first_left->size();
    ++first_left;
  }
  buffers.erase(buffers.begin(), first_left);
  if (bytes > 0 && !buffers.empty()) buffers.front() += bytes;
}

}  // namespace

Channel::Channel(Stream stream, Limits limits, CommitGate& commits, std::string_view terminator)
    : Channel(std::move(stream), limits, commits,
              std::make_unique<LineWire>(limits.max_request_bytes, terminator)) {}

Channel::Channel(Stream stream, Limits limits, CommitGate& commits,
                 std::unique_ptr<WireFormat> wire)
    : stream_(std::move(stream)),
      limits_(limits),
      commits_(commits),
      wire_(std::move(wire)),
      wake_(stream_.tcp().get_executor()) {}

void Channel::start() {
  // The wire format may hold requests already (bytes read before it took the connection over).
  spawn_reader(/*after_read=*/false);
  asio::dispatch(executor(), [self = shared_from_this()] { self->run_writer(); });
}

void Channel::spawn_reader(bool after_read) {
  auto self = shared_from_this();
  asio::co_spawn(
      executor(), [self, after_read] { return self->take_requests(after_read); },
      [self](std::exception_ptr error) { self->on_coroutine_exit(error, "reader"); });
}

void Channel::refuse(std::string reply, CloseReason reason) {
  push({.text = std::move(reply), .commit_seq = 0, .ids = {}, .close_after = reason});
}

void Channel::finish(CloseReason reason) {
  if (phase_ == Phase::closed || input_ == Input::stopping) return;
  if (phase_ != Phase::lingering) reason_ = reason;  // a lingering one keeps its last reply's
  if (phase_ == Phase::reading) phase_ = Phase::finishing;
  if (input_ == Input::open) input_ = Input::stopping;
  // Wakes a reader waiting for input: it reads end-of-file and stops.
  stream_.shutdown_receive();
}

void Channel::close(CloseReason reason) {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  reason_ = reason;
  spdlog::log(is_routine(reason) ? spdlog::level::debug : spdlog::level::info, "{} closed: {}",
              label_, to_string(reason));
  stream_.close();
  wake_writer();
  if (reader_wake_) reader_wake_->cancel();
}

void Channel::expect_request_by(Clock::time_point deadline) {
  request_deadline_ = deadline;
  wake_by(deadline);
}

void Channel::wake_by(Clock::time_point deadline) {
  // A later deadline needs no wake-up: the writer re-arms for the earliest one when it fires.
  if (deadline < wake_deadline_) wake_writer();
}

void Channel::push(Reply reply) {
  if (phase_ == Phase::closed) {
    if (!reply.ids.empty()) on_lost(reply.ids);
    return;
  }
  std::optional<std::string> framed = wire_->frame(std::move(reply.text));
  if (!framed) {  // the wire format said goodbye already: this reply cannot go out
    if (!reply.ids.empty()) on_lost(reply.ids);
    if (!reply.close_after) return;
    reply.ids.clear();
    framed.emplace();
  }
  reply.text = std::move(*framed);
  if (reply.close_after) reply.text += wire_->farewell(*reply.close_after);
  enqueue(std::move(reply));
}

std::deque<Channel::Reply>& Channel::replies() {
  if (!replies_) replies_ = std::make_unique<std::deque<Reply>>();
  return *replies_;
}

void Channel::enqueue(Reply reply) {
  if (phase_ == Phase::closed) {
    if (!reply.ids.empty()) on_lost(reply.ids);
    return;
  }
  if (reply.close_after) stop_taking_requests();
  pending_reply_bytes_ += reply.text.size();
  replies().push_back(std::move(reply));
  if (pending_reply_bytes_ > limits_.max_pending_reply_bytes) {
    close(CloseReason::reply_backlog);
    return;
  }
  wake_writer();
}

std::uint64_t Channel::reserve() {
  const std::uint64_t place = front_place_ + queued_count();
  if (phase_ != Phase::closed)
    replies().push_back(
        {.text = {}, .commit_seq = 0, .ids = {}, .close_after = {}, .ready = false});
  return place;
}

void Channel::fill(std::uint64_t place, std::string text, std::vector<std::uint64_t> ids,
                   std::uint64_t commit_seq) {
  // A place is never written before it is filled, so a live one is still in the queue.
  if (phase_ == Phase::closed || place < front_place_ || place - front_place_ >= queued_count()) {
    if (!ids.empty()) on_lost(ids);
    return;
  }
  std::optional<std::string> framed = wire_->frame(std::move(text));
  if (!framed) {  // the wire format said goodbye already: the place stays empty
    if (!ids.empty()) on_lost(ids);
    ids.clear();
    framed.emplace();
  }
  Reply& reply = (*replies_)[place - front_place_];
  reply.text = std::move(*framed);
  reply.ids = std::move(ids);
  reply.commit_seq = commit_seq;
  reply.ready = true;
  pending_reply_bytes_ += reply.text.size();
  if (pending_reply_bytes_ > limits_.max_pending_reply_bytes) {
    close(CloseReason::reply_backlog);
    return;
  }
  wake_writer();
}

asio::awaitable<void> Channel::take_requests(bool after_read) {
  // One coroutine frame per read: the back-pressure wait gets its own only when it waits.
  bool handed_over_any = false;
  std::string& request = request_;
  while (phase_ == Phase::reading) {
    if (reader_must_wait()) co_await wait_for_reader_room();
    if (phase_ == Phase::closed) break;
    const auto status = wire_->next(request);
    if (status == WireFormat::Status::need_more) break;
    if (status == WireFormat::Status::too_long) {
      stop_taking_requests();
      on_request_too_long();
      break;
    }
    handed_over_any = true;
    co_await on_request(request);
    request.clear();
  }
  if (request.capacity() > kept_request_capacity) std::string().swap(request);
  if (phase_ == Phase::closed) co_return;
  // After the replies to the requests before it: e.g. the answer to a WebSocket close frame.
  const std::optional<CloseReason> ended = wire_->ended();
  if (std::string control = wire_->take_control_bytes(); !control.empty() || ended) {
    enqueue({.text = std::move(control), .commit_seq = 0, .ids = {}, .close_after = ended});
    if (phase_ == Phase::closed) co_return;
  }
  if (after_read) track_partial_request(handed_over_any);
  read_more();
}

void Channel::read_more() {
  if (phase_ == Phase::closed) return;
  if (input_ != Input::open) {  // finish() let the last read complete
    input_ = Input::ended;
    wake_writer();
    return;
  }
  reader_waits_ = true;
  stream_.read_then([self = shared_from_this()](std::error_code ec, std::string_view bytes) {
    self->reader_waits_ = false;
    try {
      self->on_input(ec, bytes);
    } catch (...) {  // as a coroutine's would be: logged, and the channel closes
      self->on_coroutine_exit(std::current_exception(), "reader");
    }
  });
}

void Channel::on_input(std::error_code ec, std::string_view bytes) {
  if (phase_ == Phase::closed) return;
  if (ec == asio::error::eof) {
    input_ = Input::ended;
    wake_writer();
    return;
  }
  if (ec) {
    close(CloseReason::read_failed);
    return;
  }
  // No further request will be handled: the bytes are dropped, but for the read that
  // finish() let complete, whose WebSocket pings and closes are still answered.
  if (phase_ != Phase::reading && input_ == Input::open) {
    read_more();
    return;
  }
  wire_->feed(bytes);
  spawn_reader(/*after_read=*/true);
}

asio::awaitable<void> Channel::wait_for_reader_room() {
  // A client that pipelines requests faster than it reads their replies (e.g. many inbox
  // calls) is not dropped: its next request waits until it has read enough.
  while (reader_must_wait()) {
    reader_paused_ = true;
    if (!reader_wake_) reader_wake_ = std::make_unique<asio::steady_timer>(executor());
    reader_wake_->expires_at(Clock::time_point::max());
    std::error_code ec;
    co_await reader_wake_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  reader_paused_ = false;
}

std::size_t Channel::sendable_count() const {
  if (phase_ == Phase::lingering) return 0;
  std::size_t count = 0;
  if (!replies_) return 0;
  for (const Reply& reply : *replies_) {
    if (!reply.ready || reply.commit_seq > commits_.committed()) break;
    ++count;
    if (reply.close_after) break;
  }
  return count;
}

void Channel::run_writer() {
  try {
    while (phase_ != Phase::closed) {
      if (store_stall_reply_ && commits_.stalled()) give_up_on_commits();
      if (const std::size_t count = sendable_count(); count > 0) {
        leave_pushes_unread_if_peer_closed(count);
        if (!write_front(count)) return;  // write_rest() resumes the writer
        continue;
      }
      if (input_ == Input::ended && (phase_ == Phase::lingering || queued_count() == 0)) {
        // A format with its own goodbye (a WebSocket close frame) says it before closing.
        if (phase_ != Phase::lingering) {
          if (std::string bye = wire_->farewell(reason_); !bye.empty()) {
            enqueue({.text = std::move(bye), .commit_seq = 0, .ids = {}, .close_after = reason_});
            continue;
          }
        }
        close(reason_);
        break;
      }
      if (phase_ != Phase::lingering && queued_count() > 0 && replies_->front().ready) {
        wait_for_commit(replies_->front().commit_seq);
      }
      if (queued_count() == 0) replies_.reset();  // nothing to hold while asleep
      if (write_buffers_.capacity() > kept_write_buffers) {
        std::vector<asio::const_buffer>().swap(write_buffers_);
      }
      wake_deadline_ = phase_ == Phase::lingering ? linger_deadline_
                                                  : std::min(request_deadline_, partial_deadline_);
      wake_.expires_at(wake_deadline_);
      writer_sleeps_ = true;
      wake_.async_wait(
          [self = shared_from_this()](std::error_code ec) { self->on_writer_woken(ec); });
      return;
    }
  } catch (...) {  // as a coroutine's would be: logged, the channel closed, then released
    on_coroutine_exit(std::current_exception(), "writer");
  }
  release();
}

void Channel::on_writer_woken(std::error_code ec) {
  writer_sleeps_ = false;
  wake_deadline_ = Clock::time_point::max();
  try {
    if (!ec) on_deadline();  // every other wake-up cancels
  } catch (...) {
    on_coroutine_exit(std::current_exception(), "writer");
    release();
    return;
  }
  run_writer();
}

void Channel::leave_pushes_unread_if_peer_closed(std::size_t count) {
  const auto carries_messages = [](const Reply& reply) {
    return reply.is_push && !reply.ids.empty();
  };
  if (std::none_of(replies_->begin(), replies_->begin() + static_cast<std::ptrdiff_t>(count),
                   carries_messages) ||
      !peer_has_closed()) {
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (carries_messages((*replies_)[i])) withdraw((*replies_)[i]);
  }
}

void Channel::withdraw(Reply& reply) {
  if (!reply.ids.empty()) on_lost(reply.ids);
  reply.ids.clear();
  pending_reply_bytes_ -= reply.text.size();
  reply.text.clear();  // kept in the queue, empty: the places behind it stay where they are
}

bool Channel::peer_has_closed() {
  if (input_ == Input::ended) return true;
  // The peer's FIN may be queued behind nothing, not yet read: a peek of 0 bytes is the end.
  char byte = 0;
  return ::recv(stream_.tcp().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

bool Channel::write_front(std::size_t count) {
  // Every reply that may go now leaves in one write: pipelined requests cost one syscall.
  write_buffers_.clear();
  for (std::size_t i = 0; i < count; ++i) {
    write_buffers_.push_back(asio::buffer((*replies_)[i].text));
  }
  std::error_code ec;
  const std::size_t written = stream_.write_now(write_buffers_, ec);
  if (!ec && written < asio::buffer_size(write_buffers_)) {
    drop_front(write_buffers_, written);
    auto self = shared_from_this();
    asio::co_spawn(
        executor(), [self, count] { return self->write_rest(count); },
        [self](std::exception_ptr error) {
          if (!error) return;
          self->on_coroutine_exit(error, "writer");
          self->release();
        });
    return false;
  }
  retire_written(count, ec);
  return true;
}

asio::awaitable<void> Channel::write_rest(std::size_t count) {
  std::error_code ec;
  co_await stream_.write(write_buffers_, ec);
  retire_written(count, ec);
  run_writer();
}

void Channel::retire_written(std::size_t count, std::error_code ec) {
  if (ec) {
    close(CloseReason::write_failed);
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    Reply reply = std::move(replies_->front());
    replies_->pop_front();
    ++front_place_;
    pending_reply_bytes_ -= reply.text.size();
    if (!reply.ids.empty()) on_written(reply.ids);
    if (reply.close_after) begin_linger(*reply.close_after);
  }
  if (reader_paused_ && pending_reply_bytes_ <= limits_.max_pending_reply_bytes / 2) {
    reader_wake_->cancel();
  }
}

void Channel::track_partial_request(bool handed_over_any) {
  if (limits_.partial_request_timeout.count() == 0 || phase_ != Phase::reading) return;
  if (!wire_->holds_partial_request()) {
    partial_deadline_ = Clock::time_point::max();
  } else if (handed_over_any || partial_deadline_ == Clock::time_point::max()) {
    // The clock runs from the first bytes of the request now unfinished, not from the latest.
    partial_deadline_ = Clock::now() + limits_.partial_request_timeout;
    wake_by(partial_deadline_);
  }
}

void Channel::on_deadline() {
  if (phase_ == Phase::lingering) {
    close(CloseReason::linger_timeout);
    return;
  }
  if (phase_ != Phase::reading) {
    // The connection is ending anyway. The deadlines go, or the writer would wait for them
    // again and again: they have passed.
    partial_deadline_ = request_deadline_ = Clock::time_point::max();
    return;
  }
  const Clock::time_point now = Clock::now();
  if (now >= partial_deadline_) {
    partial_deadline_ = request_deadline_ = Clock::time_point::max();
    on_timed_out(CloseReason::partial_request_timeout);
  } else if (now >= request_deadline_) {
    partial_deadline_ = request_deadline_ = Clock::time_point::max();
    on_timed_out(CloseReason::idle_timeout);
  }
}

void Channel::wait_for_commit(std::uint64_t seq) {
  if (seq <= waiting_for_seq_) return;  // a wake-up for it is registered already
  waiting_for_seq_ = seq;
  auto wake = [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->wake_writer();
  };
  if (store_stall_reply_) {
    commits_.when_committed_or_stalled(seq, std::move(wake));
  } else {
    commits_.when_committed(seq, std::move(wake));
  }
}

void Channel::give_up_on_commits() {
  // The stall woke every wait this channel had registered.
  waiting_for_seq_ = 0;
  if (!replies_) return;
  for (Reply& reply : *replies_) {
    if (!reply.ready || reply.commit_seq <= commits_.committed()) continue;
    // The change may still be stored later, but it was not acknowledged: an inbox reply
    // replaced here leaves its messages unread.
    withdraw(reply);
    if (!reply.is_push)
      reply.text = wire_->frame(std::string(*store_stall_reply_)).value_or(std::string());
    if (reply.close_after) reply.text += wire_->farewell(*reply.close_after);
    pending_reply_bytes_ += reply.text.size();
    reply.commit_seq = 0;
  }
}

void Channel::stop_taking_requests() {
  if (phase_ == Phase::reading) phase_ = Phase::finishing;
}

void Channel::begin_linger(CloseReason reason) {
  phase_ = Phase::lingering;
  reason_ = reason;
  linger_deadline_ = Clock::now() + linger_time;
  stream_.shutdown_send();
}

void Channel::release() {
  if (replies_) {
    for (const Reply& reply : *replies_) {
      if (!reply.ids.empty()) on_lost(reply.ids);
    }
  }
  replies_.reset();
  pending_reply_bytes_ = 0;
  on_closed(reason_);
}

void Channel::on_coroutine_exit(std::exception_ptr error, std::string_view which) {
  if (log_coroutine_failure(error, fmt::format("{}: {}", label_, which))) {
    close(CloseReason::internal_error);
  }
}

}  // namespace realmd
