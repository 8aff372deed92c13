#pragma once
#include <array>
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "chatclient/frame_splitter.hpp"
#include "chatclient/transport.hpp"

namespace chat::client {

// Connecting failed, the server closed the connection, or it did not answer in time.
// what() is a sentence for the user, e.g. "connection closed by server".
struct ConnectionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A TCP connection to one realm's client port, plain or TLS, driven by an Asio io_context that
// others may share (the terminal watches stdin on it). Once connected a read is always pending:
// every frame that arrives is either a reply, for read_reply(), or a pushed event, handed to the
// event handler as soon as it arrives, also while a request waits for its reply. Arrival
// order is kept: an event that came after a reply is handed over after that reply was read.
// The blocking calls run the io_context one handler at a time (never from inside a handler)
// and give up after `timeout`.
class Connection {
 public:
  static constexpr std::chrono::seconds default_timeout{30};
  // Gets each event's JSON text, without its "\r\n\r\n".
  using EventHandler = std::function<void(std::string_view)>;

  explicit Connection(std::chrono::steady_clock::duration timeout = default_timeout);

  asio::io_context& io_context() { return io_; }
  void on_event(EventHandler handler) { on_event_ = std::move(handler); }

  // With `tls`, the TLS handshake is part of connecting: a server whose certificate does not
  // verify is a ConnectionError.
  void connect(const std::string& host, std::uint16_t port,
               const std::optional<TlsOptions>& tls = std::nullopt);
  // Sends `line` followed by "\n".
  void send_line(std::string_view line);
  // The next reply's JSON text, without its "\r\n\r\n".
  std::string read_reply();
  // Hands events to the handler for `duration`, then returns.
  void pass_events_for(std::chrono::steady_clock::duration duration);
  // Throws the error that ended the connection (server closed it, bad frame), if any.
  void check_open() const;

 private:
  void handshake(const std::string& host, const TlsOptions& tls);
  void start_read();
  void take_frames();
  // Hands the events at the head of arrived_ to the handler, up to the first reply.
  void hand_over_events();
  // Runs handlers until `done()` or `deadline`; on the deadline closes the connection and throws.
  void run_until(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline,
                 const char* what);

  std::chrono::steady_clock::duration timeout_;
  asio::io_context io_;
  Transport transport_{io_};
  std::array<char, 64 * 1024> read_buffer_{};
  FrameSplitter frames_;
  struct Frame {
    FrameKind kind;
    std::string text;
  };
  std::deque<Frame> arrived_;          // not handed over yet, in arrival order
  std::optional<std::string> closed_;  // why the connection ended
  EventHandler on_event_;
};

}  // namespace chat::client
