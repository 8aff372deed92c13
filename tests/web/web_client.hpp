#pragma once
#include <sys/types.h>
#include <wslay/wslay.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace test_support {

// A blocking WebSocket client of realmd's web listener for tests, on 127.0.0.1, framing with
// wslay's client side (masked frames, as a browser sends). Every wait has a deadline; a missed
// one throws std::runtime_error naming what was awaited.
class WebClient {
 public:
  static constexpr std::chrono::milliseconds default_timeout{10000};

  struct Message {
    std::uint8_t opcode = 0;  // WSLAY_TEXT_FRAME, WSLAY_PONG, WSLAY_CONNECTION_CLOSE, ...
    std::string data;
    std::uint16_t close_code = 0;  // for a close
  };

  // Connects to `port` and upgrades GET /ws; throws unless the answer is a valid 101.
  explicit WebClient(std::uint16_t port);
  ~WebClient();
  WebClient(const WebClient&) = delete;
  WebClient& operator=(const WebClient&) = delete;

  void send_text(std::string_view text);
  void send_binary(std::string_view bytes);
  void send_ping(std::string_view payload);
  void send_close(std::uint16_t code);
  // The next message the server sent (pongs and closes included).
  Message expect_message(std::chrono::milliseconds timeout = default_timeout);
  // The next text message; throws if anything else comes first.
  std::string expect_text(std::chrono::milliseconds timeout = default_timeout);
  // send_text() then expect_text().
  std::string request(std::string_view line);
  // Reads until the server closes the TCP connection; false if still open at the deadline.
  bool wait_closed(std::chrono::milliseconds timeout = default_timeout);

 private:
  static ssize_t on_recv(wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, int,
                         void* self);
  static ssize_t on_send(wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int,
                         void* self);
  static int on_genmask(wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, void*);
  static void on_message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                         void* self);
  void queue(std::uint8_t opcode, std::string_view data);
  // Reads once (within the deadline) and lets wslay parse; false on end of stream.
  bool read_some(std::chrono::steady_clock::time_point deadline);

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  wslay_event_context_ptr ctx_ = nullptr;
  std::string input_;  // read, not yet parsed by wslay
  std::deque<Message> messages_;
};

// Sends `request` (a whole HTTP request) to `port` and returns everything the server sends
// until it closes the connection.
std::string http_exchange(std::uint16_t port, std::string_view request,
                          std::chrono::milliseconds timeout = WebClient::default_timeout);

}  // namespace test_support
