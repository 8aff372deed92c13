#pragma once
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace chat::client {

// Connecting failed, the server closed the connection, or it did not answer in time.
// what() is a sentence for the user, e.g. "connection closed by server".
struct ConnectionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A blocking TCP connection to one realm's client port. Each call gives up after `timeout`.
// Built on Asio's async operations run to completion (Asio's blocking_tcp_client example),
// because plain blocking sockets have no timeouts.
class Connection {
 public:
  static constexpr std::chrono::seconds default_timeout{30};

  explicit Connection(std::chrono::steady_clock::duration timeout = default_timeout);

  void connect(const std::string& host, std::uint16_t port);
  // Sends `line` followed by "\n".
  void send_line(std::string_view line);
  // The next reply's JSON text, without its "\r\n\r\n".
  std::string read_reply();

 private:
  // Runs the pending operation; on timeout closes the socket so that it completes.
  void run_pending(const char* what);

  std::chrono::steady_clock::duration timeout_;
  asio::io_context io_;
  asio::ip::tcp::socket socket_{io_};
  std::string received_;  // bytes read past the last reply
};

}  // namespace chat::client
