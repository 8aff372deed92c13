#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace test_support {

// A blocking client of the line protocol (or of a realm link) for tests, on 127.0.0.1. Every wait
// has a deadline; a missed one throws std::runtime_error naming what was awaited.
class LineClient {
 public:
  static constexpr std::chrono::milliseconds default_timeout{10000};

  // Options applied before connecting (e.g. a tiny receive buffer to stall the server).
  struct Options {
    int receive_buffer_bytes = 0;  // 0: the system default
  };

  explicit LineClient(std::uint16_t port) : LineClient(port, Options{}) {}
  LineClient(std::uint16_t port, Options options);

  // Sends `line` + "\n".
  void send(std::string_view line);
  // Sends bytes as they are.
  void send_raw(std::string_view bytes);
  // The next reply, without its "\r\n\r\n".
  std::string expect_reply(std::chrono::milliseconds timeout = default_timeout);
  // The next "\n"-terminated line, without its "\n" (realm-link frames).
  std::string expect_line(std::chrono::milliseconds timeout = default_timeout);
  // send() then expect_reply().
  std::string request(std::string_view line, std::chrono::milliseconds timeout = default_timeout);
  // Reads until the server closes the connection; false if it is still open at the deadline.
  // Bytes read meanwhile stay available to unread().
  bool wait_closed(std::chrono::milliseconds timeout = default_timeout);
  // Bytes that arrived and wait in the socket, unread.
  std::size_t available() { return socket_.available(); }
  // Bytes received but not returned as a reply.
  const std::string& unread() const { return buffer_; }
  // Closes with a reset (SO_LINGER 0): the abrupt end of a crashed client.
  void abort();

 private:
  // Reads until `terminator`; returns what came before it and consumes both.
  std::string read_until(std::string_view terminator, std::chrono::milliseconds timeout);

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::string buffer_;
};

}  // namespace test_support
