#pragma once
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/close_reason.hpp"
#include "net/commit_gate.hpp"
#include "net/stream.hpp"
#include "net/wire_format.hpp"

namespace realmd {

// One connection that carries requests and replies (a client's lines over TCP or WebSocket
// messages, or a realm link's frame lines; plain or TLS, as its Stream is):
// a reader cuts the byte stream into requests with the connection's WireFormat and hands them
// to the subclass one at a time; a writer sends the replies strictly in the order they were
// pushed, each only once its commit gate has committed everything queued before it
// (docs/design.md §3). Pushing only enqueues. Single-threaded: everything runs on the
// connection's executor (the realm's event loop).
//
// An idle connection holds no coroutine (docs/performance.md, "Idle connections"): the reader
// waits for input with a plain completion handler and runs a coroutine only while it hands
// requests over; the writer is plain code that sleeps on its timer (a plain handler too) and
// runs a coroutine only for a write the socket did not take at once.
//
// Its life is one Phase, which only moves forward:
//   reading -> finishing    finish(), a reply that closes (close_after), a request too long
//   finishing -> lingering  the reply that closes is written (the send side is shut)
//   lingering -> closed     the peer's EOF, or linger_time without it
//   reading or finishing -> closed  the input ended and every reply is written
//   any -> closed           close(): a socket error, a link that fails, the backlog limit
// with one close reason, the one on_closed() gets.
class Channel : public std::enable_shared_from_this<Channel> {
 public:
  enum class Phase {
    reading,    // requests are handed over as they arrive
    finishing,  // no further request is handed over; the queued replies go out, then the end
    lingering,  // the last reply is written and the send side shut: waiting for the peer's EOF
    closed,     // the socket is closed; replies not yet written are lost
  };
  struct Limits {
    std::size_t max_request_bytes = 0;
    // Unsent replies: past half of it the channel stops taking the peer's next requests until
    // the peer has read its replies (back-pressure); past all of it (pushes and waits still
    // add) the peer, which does not read, is dropped.
    std::size_t max_pending_reply_bytes = 0;
    // A request begun and not finished for this long ends the connection (slowloris); zero:
    // no limit.
    std::chrono::milliseconds partial_request_timeout{0};
  };
  using Clock = std::chrono::steady_clock;

  // Lines over TCP (LineWire): `terminator` ends every pushed text on the wire, "\r\n\r\n"
  // after a client reply, "\n" after a realm-link frame.
  Channel(Stream stream, Limits limits, CommitGate& commits, std::string_view terminator);
  // Requests and replies in the form `wire` gives them (e.g. WebSocket frames).
  Channel(Stream stream, Limits limits, CommitGate& commits, std::unique_ptr<WireFormat> wire);
  virtual ~Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Spawns the reader and the writer.
  void start();
  // Answers `reply` and closes, reading no request (e.g. over the connection limit). Call
  // instead of serving, before start().
  void refuse(std::string reply, CloseReason reason);
  // Reads no further request (the read in progress is the last), sends the replies already
  // queued, then closes.
  void finish(CloseReason reason);
  // Closes at once; replies not yet written are lost (on_lost).
  void close(CloseReason reason);
  Phase phase() const { return phase_; }
  bool is_closed() const { return phase_ == Phase::closed; }
  // Gives the reply kept at `place` (see reserve()) its text; it goes out in its turn.
  void fill(std::uint64_t place, std::string text, std::vector<std::uint64_t> ids,
            std::uint64_t commit_seq);

 protected:
  struct Reply {
    std::string text;                        // the reply; once queued, its wire form
    std::uint64_t commit_seq = 0;            // sent once the commit queue has committed this
    std::vector<std::uint64_t> ids;          // handed to on_written() or on_lost() when not empty
    std::optional<CloseReason> close_after;  // close once this reply is written
    bool ready = true;                       // false: a reserved place, not filled yet
    bool is_push = false;  // not the answer to a request: dropped, not answered, on a stall
  };

  // Queues a reply behind the ones already queued (in its wire form).
  void push(Reply reply);
  // Keeps the next place in the reply order for a reply that comes later through fill()
  // (e.g. one that waits for a peer realm); the replies behind it wait for it.
  std::uint64_t reserve();
  // Once the store stalls (CommitGate::stalled), what waits for a commit is answered with
  // `reply` instead (pushes are dropped). A channel that never calls this waits on (realm-link
  // frames must not leave before their commit). `reply` outlives the channel (a view is kept:
  // one text serves every connection).
  void answer_store_stall_with(std::string_view reply) { store_stall_reply_ = reply; }
  // A name for the logs, e.g. "client 7 (127.0.0.1:40102)".
  void set_label(std::string label) { label_ = std::move(label); }
  const std::string& label() const { return label_; }
  const Stream& stream() const { return stream_; }
  // Whether the channel holds a reply queue now (tests: an idle channel holds none).
  bool holds_reply_queue() const { return replies_ != nullptr; }
  // Whether the reader waits for input and the writer sleeps, neither in a coroutine (tests).
  bool waits_without_coroutine() const { return reader_waits_ && writer_sleeps_; }
  asio::ip::tcp::socket::executor_type executor() { return stream_.tcp().get_executor(); }
  // No request handed over by `deadline` ends the connection (on_timed_out with
  // CloseReason::idle_timeout); Clock::time_point::max(): none. Replaces the one set before.
  void expect_request_by(Clock::time_point deadline);

  // One request (its framing removed: a line without its terminator, a WebSocket message's
  // text), valid until the returned coroutine completes; the next request is not handed over
  // before then. A view, not a string: the channel's request buffer keeps its capacity from
  // request to request (no allocation per request).
  virtual asio::awaitable<void> on_request(std::string_view request) = 0;
  // The current request passed max_request_bytes; no further request will be handed over.
  virtual void on_request_too_long() = 0;
  // A reply with ids was written to the socket / will never be.
  virtual void on_written(const std::vector<std::uint64_t>& ids) = 0;
  virtual void on_lost(const std::vector<std::uint64_t>& ids) = 0;
  // Called once, after the socket closed and every unwritten reply was reported lost.
  virtual void on_closed(CloseReason reason) = 0;
  // A time limit passed: idle_timeout (see expect_request_by) or partial_request_timeout.
  // Closes by default; a subclass may say why first (then finish or close).
  virtual void on_timed_out(CloseReason reason) { close(reason); }

 private:
  // The reader's coroutine: hands over the requests the wire format has complete, queues what
  // the format sends on its own behalf (e.g. a WebSocket pong or close), keeps the
  // partial-request clock (after a read: `after_read`), then waits for the next input.
  asio::awaitable<void> take_requests(bool after_read);
  void spawn_reader(bool after_read);
  // Waits for input with a plain handler, or ends the input once finish() stopped it.
  void read_more();
  void on_input(std::error_code ec, std::string_view bytes);
  // Back-pressure: returns once the unsent replies are under half their limit.
  asio::awaitable<void> wait_for_reader_room();
  bool reader_must_wait() const {
    return phase_ != Phase::closed && pending_reply_bytes_ > limits_.max_pending_reply_bytes / 2;
  }
  // The writer: writes what may go, then sleeps on wake_ until a wake-up or a deadline; once
  // the channel closed, releases it.
  void run_writer();
  void on_writer_woken(std::error_code ec);
  // A push of messages is marked read once the socket took it; to a peer that has closed its
  // side (its FIN has arrived) it would be taken by the kernel and never read (a client that
  // quit or dropped; a WebSocket close frame not yet read is data, not the end),
  // so such pushes among the first `count` replies are emptied and their messages left unread
  // (on_lost), for the next session's inbox. A reply the peer asked for still goes: a client
  // may half-close and wait for its answers.
  void leave_pushes_unread_if_peer_closed(std::size_t count);
  // The peer's FIN was read, or waits in the receive queue.
  bool peer_has_closed();
  // Takes a queued reply's text back, leaving its place empty, and reports its messages lost
  // (they stay unread).
  void withdraw(Reply& reply);
  // Writes the first `count` replies (all sendable) in one go and retires them; false when the
  // socket did not take them at once and a write continues in the background (it resumes the
  // writer when done).
  bool write_front(std::size_t count);
  asio::awaitable<void> write_rest(std::size_t count);
  void retire_written(std::size_t count, std::error_code ec);
  // Queues a reply whose text is in its wire form already.
  void enqueue(Reply reply);
  // The reply queue, made if there is none.
  std::deque<Reply>& replies();
  std::size_t queued_count() const { return replies_ ? replies_->size() : 0; }
  // Replies at the front of the queue that may be written now.
  std::size_t sendable_count() const;
  void wait_for_commit(std::uint64_t seq);
  // The store stalled: replies still waiting for a commit become the stall reply.
  void give_up_on_commits();
  // Stops taking requests (reading -> finishing); the bytes that still arrive are dropped.
  void stop_taking_requests();
  void begin_linger(CloseReason reason);
  // Keeps the partial-request deadline in step with what the wire format holds after a read.
  void track_partial_request(bool handed_over_any);
  // Makes the writer's timer fire by `deadline` at the latest.
  void wake_by(Clock::time_point deadline);
  // The writer's timer fired: which deadline passed?
  void on_deadline();
  void wake_writer() { wake_.cancel(); }
  // Once, when the writer has ended after close: reports unwritten replies lost, then
  // on_closed().
  void release();
  void on_coroutine_exit(std::exception_ptr error, std::string_view which);

  Stream stream_;
  Limits limits_;
  CommitGate& commits_;
  std::unique_ptr<WireFormat> wire_;
  std::string label_ = "connection";
  std::optional<std::string_view> store_stall_reply_;
  // The request being handed over; a member, so that its capacity serves every request (at
  // pipeline 1 each read holds one request, and a local would allocate for each).
  std::string request_;
  // The writer's buffer list, kept between writes (see kept_write_buffers).
  std::vector<asio::const_buffer> write_buffers_;

  // The replies queued (a deque: queued texts stay put while a write is in flight). Made at the
  // first reply and dropped whenever the writer sleeps with none queued: even empty, a
  // std::deque holds 544 bytes, and most connections are idle most of the time.
  std::unique_ptr<std::deque<Reply>> replies_;
  std::uint64_t front_place_ = 0;  // the place number of the first reply queued
  std::size_t pending_reply_bytes_ = 0;
  asio::steady_timer wake_;  // the writer sleeps on it until its deadline; cancel() wakes it
  // A reader paused for back-pressure sleeps on it; made at the first pause (an idle
  // connection has none).
  std::unique_ptr<asio::steady_timer> reader_wake_;
  bool reader_paused_ = false;
  bool reader_waits_ = false;   // a read with a plain handler is pending
  bool writer_sleeps_ = false;  // the writer waits on wake_
  Clock::time_point wake_deadline_ = Clock::time_point::max();  // what wake_ is set to
  std::uint64_t waiting_for_seq_ = 0;

  // The reader's side of the life: it reads until the peer's EOF, or stops after the read in
  // progress once finish() asked it to; the writer closes only after it ended.
  enum class Input { open, stopping, ended };

  Phase phase_ = Phase::reading;
  Input input_ = Input::open;
  // Why the channel closes or closed: peer_closed unless finish(), the reply that lingers, or
  // close() named another reason.
  CloseReason reason_ = CloseReason::peer_closed;
  Clock::time_point linger_deadline_;
  Clock::time_point request_deadline_ = Clock::time_point::max();  // expect_request_by()
  Clock::time_point partial_deadline_ = Clock::time_point::max();  // a partial request's end
};

}  // namespace realmd
