#pragma once
#include <array>
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
// event handler as soon as it arrives, also while a request waits for its reply. A reply that
// arrives while no request waits for one is a notice (the realm's last word before it closes
// the connection) and goes to the notice handler. Arrival
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
  // Gets each notice's JSON text ({"status":"ERROR","message":...}).
  void on_notice(EventHandler handler) { on_notice_ = std::move(handler); }

  // With `tls`, the TLS handshake is part of connecting: a server whose certificate does not
  // verify is a ConnectionError.
  void connect(const std::string& host, std::uint16_t port,
               const std::optional<TlsOptions>& tls = std::nullopt);
  // Closes the connection (if open) and connects again, as connect(): to the address connected
  // last, then to the others of set_addresses() in turn.
  void reconnect();
  // Every address of the realm (one per process of a realm with standbys).
  void set_addresses(std::vector<std::pair<std::string, std::uint16_t>> addresses) {
    addresses_ = std::move(addresses);
  }
  // "HOST:PORT" connected to (or last tried).
  std::string where() const { return host_ + ":" + std::to_string(port_); }
  // Closes the connection; pending waits end with a ConnectionError.
  void close();
  bool is_open() const { return connected_ && !closed_; }
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
  // A new Transport per connection: a TLS stream cannot be reused after it closed.
  std::unique_ptr<Transport> transport_ = std::make_unique<Transport>(io_);
  std::string host_;
  std::uint16_t port_ = 0;
  std::optional<TlsOptions> tls_;
  std::vector<std::pair<std::string, std::uint16_t>> addresses_;
  bool connected_ = false;
  std::uint64_t generation_ = 0;  // one per connection made
  std::size_t unanswered_ = 0;    // requests sent whose reply has not arrived
  bool heard_ = false;            // any byte from the server on this connection
  std::array<char, 64 * 1024> read_buffer_{};
  FrameSplitter frames_;
  struct Frame {
    FrameKind kind;
    std::string text;
    bool notice = false;  // an unasked reply, handed over like an event
  };
  std::deque<Frame> arrived_;          // not handed over yet, in arrival order
  std::optional<std::string> closed_;  // why the connection ended
  EventHandler on_event_;
  EventHandler on_notice_;
};

}  // namespace chat::client
