// realmd's Channel (realmd/net/channel.hpp) on its own: a loopback socket pair, a commit gate
// the test commits and stalls by hand, and a subclass that answers each request line. Each
// case walks the channel through its phases (reading, finishing, lingering, closed) and checks
// what the peer sees and the one reason the channel closed for.
#include "net/channel.hpp"

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using asio::ip::tcp;
using realmd::Channel;
using realmd::CloseReason;
using Phase = realmd::Channel::Phase;

// A gate the test drives: nothing is committed until commit(), and stall() wakes the waits
// that asked for it.
class FakeGate final : public realmd::CommitGate {
 public:
  std::uint64_t committed() const override { return committed_; }
  bool stalled() const override { return stalled_; }
  void when_committed(std::uint64_t seq, std::function<void()> wake) override {
    wait(seq, std::move(wake), false);
  }
  void when_committed_or_stalled(std::uint64_t seq, std::function<void()> wake) override {
    wait(seq, std::move(wake), true);
  }

  void commit(std::uint64_t seq) {
    committed_ = seq;
    wake_if([this](std::uint64_t waits_for, bool) { return waits_for <= committed_; });
  }
  void stall() {
    stalled_ = true;
    wake_if([](std::uint64_t, bool on_stall) { return on_stall; });
  }
  std::uint64_t next_seq() { return ++handed_out_; }

 private:
  struct Waiter {
    std::function<void()> wake;
    bool on_stall = false;
  };
  void wait(std::uint64_t seq, std::function<void()> wake, bool on_stall) {
    if (seq <= committed_ || (on_stall && stalled_)) {
      wake();
      return;
    }
    waiters_.emplace(seq, Waiter{std::move(wake), on_stall});
  }
  void wake_if(const std::function<bool(std::uint64_t, bool)>& due) {
    std::vector<std::function<void()>> woken;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (due(it->first, it->second.on_stall)) {
        woken.push_back(std::move(it->second.wake));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& wake : woken) wake();
  }

  std::uint64_t committed_ = 0;
  std::uint64_t handed_out_ = 0;
  bool stalled_ = false;
  std::multimap<std::uint64_t, Waiter> waiters_;
};

// Answers request `x` with `re:x` once the next commit is done; `quit` is answered and closes.
class EchoChannel final : public Channel {
 public:
  EchoChannel(realmd::Stream stream, FakeGate& gate, bool answers_stall,
              std::chrono::milliseconds partial_request_timeout)
      : Channel(std::move(stream),
                Limits{.max_request_bytes = 16,
                       .max_pending_reply_bytes = 1 << 16,
                       .partial_request_timeout = partial_request_timeout},
                gate, "\n"),
        gate_(gate) {
    if (answers_stall) answer_store_stall_with("stalled");
  }

  using Channel::expect_request_by;
  using Channel::holds_reply_queue;
  using Channel::waits_without_coroutine;
  // A push not answering a request (e.g. a message to a watcher, `ids` its messages),
  // committed already.
  void push_event(std::string text, std::vector<std::uint64_t> ids = {}) {
    push({.text = std::move(text),
          .commit_seq = 0,
          .ids = std::move(ids),
          .close_after = {},
          .is_push = true});
  }

  std::vector<std::string> requests;
  std::vector<std::uint64_t> written;
  std::vector<std::uint64_t> lost;
  std::optional<CloseReason> closed_for;

 private:
  asio::awaitable<void> on_request(std::string_view request) override {
    requests.emplace_back(request);
    const std::uint64_t seq = gate_.next_seq();
    Reply reply{
        .text = "re:" + std::string(request), .commit_seq = seq, .ids = {seq}, .close_after = {}};
    if (request == "quit") reply.close_after = CloseReason::requested;
    push(std::move(reply));
    co_return;
  }
  void on_request_too_long() override {
    push({.text = "too long",
          .commit_seq = 0,
          .ids = {},
          .close_after = CloseReason::line_too_long});
  }
  void on_written(const std::vector<std::uint64_t>& ids) override {
    written.insert(written.end(), ids.begin(), ids.end());
  }
  void on_lost(const std::vector<std::uint64_t>& ids) override {
    lost.insert(lost.end(), ids.begin(), ids.end());
  }
  void on_closed(CloseReason reason) override { closed_for = reason; }

  FakeGate& gate_;
};

// One channel on the accepting side of a loopback connection; the test is its peer.
struct Connection {
  explicit Connection(bool answers_stall = false,
                      std::chrono::milliseconds partial_request_timeout = {})
      : peer(io) {
    tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
    peer.connect(acceptor.local_endpoint());
    peer.non_blocking(true);
    channel = std::make_shared<EchoChannel>(realmd::Stream(acceptor.accept()), gate, answers_stall,
                                            partial_request_timeout);
    channel->start();
  }

  void send(std::string_view bytes) { asio::write(peer, asio::buffer(bytes)); }
  void end_sending() { peer.shutdown(tcp::socket::shutdown_send); }

  // Runs the channel's loop (and reads what reached the peer) until `done` holds; false when
  // it did not within the time allowed.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds within = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (io.stopped()) io.restart();
      io.run_for(std::chrono::milliseconds(2));
      read_available();
    }
    return true;
  }
  // Runs every handler that is ready: the channel has done all it can without news.
  void settle() {
    if (io.stopped()) io.restart();
    while (io.poll() > 0) {
    }
    read_available();
  }

  void read_available() {
    char buffer[256];
    for (;;) {
      std::error_code ec;
      const std::size_t n = peer.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::eof) {
        peer_saw_eof = true;
        return;
      }
      if (ec) return;  // would block
      received.append(buffer, n);
    }
  }

  asio::io_context io;
  FakeGate gate;
  tcp::socket peer;
  std::shared_ptr<EchoChannel> channel;
  std::string received;
  bool peer_saw_eof = false;
};

}  // namespace

TEST_CASE("a reply leaves only once the gate has committed it, in order") {
  Connection c;
  c.send("a\nb\n");
  REQUIRE(c.run_until([&] { return c.channel->requests.size() == 2; }));
  c.settle();
  CHECK(c.received.empty());
  c.gate.commit(1);
  REQUIRE(c.run_until([&] { return c.received == "re:a\n"; }));
  c.gate.commit(2);
  REQUIRE(c.run_until([&] { return c.received == "re:a\nre:b\n"; }));
  CHECK(c.channel->written == std::vector<std::uint64_t>{1, 2});
  CHECK(c.channel->phase() == Phase::reading);
}

TEST_CASE("finish: no further request, the queued replies go out, then closed for its reason") {
  Connection c;
  c.send("a\n");
  REQUIRE(c.run_until([&] { return c.channel->requests.size() == 1; }));
  c.channel->finish(CloseReason::server_stopping);
  CHECK(c.channel->phase() == Phase::finishing);
  c.settle();
  CHECK(c.channel->phase() == Phase::finishing);  // its reply still waits for the commit
  CHECK_FALSE(c.channel->closed_for);
  c.gate.commit(1);
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value() && c.peer_saw_eof; }));
  CHECK(c.received == "re:a\n");
  CHECK(*c.channel->closed_for == CloseReason::server_stopping);
  CHECK(c.channel->phase() == Phase::closed);
  CHECK(c.channel->lost.empty());
}

TEST_CASE("a reply that closes: finishing, then lingering until the peer's EOF") {
  Connection c;
  c.send("quit\nafter\n");
  REQUIRE(c.run_until([&] { return !c.channel->requests.empty(); }));
  c.settle();
  CHECK(c.channel->requests == std::vector<std::string>{"quit"});  // "after" is dropped
  CHECK(c.channel->phase() == Phase::finishing);
  c.gate.commit(1);
  // The reply written, the channel shuts its send side and waits for the peer to close.
  REQUIRE(c.run_until([&] { return c.peer_saw_eof; }));
  CHECK(c.received == "re:quit\n");
  c.settle();
  CHECK(c.channel->phase() == Phase::lingering);
  CHECK_FALSE(c.channel->closed_for);
  c.send("more\n");  // read and dropped while lingering
  c.end_sending();
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value(); }));
  CHECK(*c.channel->closed_for == CloseReason::requested);
  CHECK(c.channel->requests == std::vector<std::string>{"quit"});
}

TEST_CASE("lingering ends after the linger time when the peer never closes") {
  Connection c;
  c.send("quit\n");
  c.gate.commit(1);
  REQUIRE(c.run_until([&] { return c.peer_saw_eof; }));
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value(); }));
  CHECK(*c.channel->closed_for == CloseReason::linger_timeout);
}

TEST_CASE("the peer's EOF with a reply due: the reply still goes out, then peer_closed") {
  Connection c;
  c.send("a\n");
  c.end_sending();
  REQUIRE(c.run_until([&] { return c.channel->requests.size() == 1; }));
  c.settle();
  CHECK_FALSE(c.channel->closed_for);  // the reply waits for its commit
  c.gate.commit(1);
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value() && c.peer_saw_eof; }));
  CHECK(c.received == "re:a\n");
  CHECK(*c.channel->closed_for == CloseReason::peer_closed);
}

TEST_CASE("a push of messages to a peer that has closed is left unread, not written") {
  Connection c;
  c.channel->push_event("message 6", {6});
  REQUIRE(c.run_until([&] { return c.received == "message 6\n"; }));
  CHECK(c.channel->written == std::vector<std::uint64_t>{6});
  // The peer goes (a client that quit or dropped); its FIN waits unread in the channel's
  // socket. The kernel would still take a write, and the message would count as read.
  c.peer.close();
  c.channel->push_event("message 7", {7});
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value(); }));
  CHECK(c.channel->lost == std::vector<std::uint64_t>{7});
  CHECK(c.channel->written == std::vector<std::uint64_t>{6});
}

TEST_CASE("close: at once, the unwritten replies reported lost") {
  Connection c;
  c.send("a\n");
  REQUIRE(c.run_until([&] { return c.channel->requests.size() == 1; }));
  c.channel->close(CloseReason::internal_error);
  CHECK(c.channel->phase() == Phase::closed);
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value(); }));
  CHECK(*c.channel->closed_for == CloseReason::internal_error);
  CHECK(c.channel->lost == std::vector<std::uint64_t>{1});
  CHECK(c.channel->written.empty());
}

TEST_CASE("a request too long: no further request, its error, then the close") {
  Connection c;
  c.send(std::string(40, 'x') + "\nb\n");
  REQUIRE(c.run_until([&] { return c.peer_saw_eof; }));
  CHECK(c.received == "too long\n");
  CHECK(c.channel->requests.empty());
  c.end_sending();
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value(); }));
  CHECK(*c.channel->closed_for == CloseReason::line_too_long);
}

TEST_CASE("a stalled gate: replies waiting for a commit become the stall reply") {
  Connection c(/*answers_stall=*/true);
  c.send("a\n");
  REQUIRE(c.run_until([&] { return c.channel->requests.size() == 1; }));
  c.gate.stall();
  REQUIRE(c.run_until([&] { return c.received == "stalled\n"; }));
  CHECK(c.channel->lost == std::vector<std::uint64_t>{1});
  CHECK(c.channel->phase() == Phase::reading);
}

TEST_CASE("after a burst, an idle channel holds no reply queue, and serves the next request") {
  Connection c;
  CHECK_FALSE(c.channel->holds_reply_queue());
  c.send("a\nb\nc\n");
  REQUIRE(c.run_until([&] { return c.channel->requests.size() == 3; }));
  CHECK(c.channel->holds_reply_queue());  // three replies wait for their commit
  c.gate.commit(3);
  REQUIRE(c.run_until([&] { return c.received == "re:a\nre:b\nre:c\n"; }));
  c.settle();
  CHECK_FALSE(c.channel->holds_reply_queue());
  c.send("d\n");
  REQUIRE(c.run_until([&] { return c.channel->requests.size() == 4; }));
  c.gate.commit(4);
  REQUIRE(c.run_until([&] { return c.received == "re:a\nre:b\nre:c\nre:d\n"; }));
  CHECK(c.channel->written == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(c.channel->phase() == Phase::reading);
}

// An idle channel holds no coroutine (docs/performance.md, "Idle connections"): its reader waits
// for input and its writer sleeps with plain handlers; these cases leave that state each way.
TEST_CASE("idle: no coroutine; a request arriving byte by byte after it is served") {
  Connection c(false, std::chrono::seconds(30));
  c.settle();
  CHECK(c.channel->waits_without_coroutine());
  for (const char byte : std::string("abc\n")) {
    c.send(std::string(1, byte));
    c.settle();
  }
  REQUIRE(c.run_until([&] { return c.channel->requests.size() == 1; }));
  CHECK(c.channel->requests.front() == "abc");
  c.gate.commit(1);
  REQUIRE(c.run_until([&] { return c.received == "re:abc\n"; }));
  c.settle();
  CHECK(c.channel->waits_without_coroutine());
  CHECK(c.channel->phase() == Phase::reading);
}

TEST_CASE("idle: a request begun and not finished still ends the connection in time") {
  Connection c(false, std::chrono::milliseconds(50));
  c.send("ab");
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value(); }));
  CHECK(*c.channel->closed_for == CloseReason::partial_request_timeout);
}

TEST_CASE("idle: no request by the deadline ends the connection") {
  Connection c;
  c.settle();
  REQUIRE(c.channel->waits_without_coroutine());
  c.channel->expect_request_by(Channel::Clock::now() + std::chrono::milliseconds(20));
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value(); }));
  CHECK(*c.channel->closed_for == CloseReason::idle_timeout);
}

TEST_CASE("idle: close, and the channel is released with nothing lost") {
  Connection c;
  c.settle();
  REQUIRE(c.channel->waits_without_coroutine());
  c.channel->close(CloseReason::server_stopping);
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value() && c.peer_saw_eof; }));
  CHECK(*c.channel->closed_for == CloseReason::server_stopping);
  CHECK(c.channel->lost.empty());
  c.settle();
  CHECK(c.channel.use_count() == 1);  // no handler holds it any longer
}

TEST_CASE("idle: a push goes out, and the channel falls idle again") {
  Connection c;
  c.settle();
  REQUIRE(c.channel->waits_without_coroutine());
  c.channel->push_event("event");
  REQUIRE(c.run_until([&] { return c.received == "event\n"; }));
  c.settle();
  CHECK(c.channel->waits_without_coroutine());
  CHECK_FALSE(c.channel->holds_reply_queue());
}

TEST_CASE("idle: finish wakes the waiting reader, and the channel closes for its reason") {
  Connection c;
  c.settle();
  REQUIRE(c.channel->waits_without_coroutine());
  c.channel->finish(CloseReason::server_stopping);
  REQUIRE(c.run_until([&] { return c.channel->closed_for.has_value() && c.peer_saw_eof; }));
  CHECK(*c.channel->closed_for == CloseReason::server_stopping);
}
