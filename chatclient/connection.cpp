#include "chatclient/connection.hpp"

namespace chat::client {
namespace {

constexpr std::string_view reply_terminator = "\r\n\r\n";
// Far above any real reply (an inbox is bounded by the server); stops a runaway peer.
constexpr std::size_t max_reply_bytes = 256 * 1024 * 1024;

}  // namespace

Connection::Connection(std::chrono::steady_clock::duration timeout) : timeout_(timeout) {}

void Connection::run_pending(const char* what) {
  io_.restart();
  io_.run_for(timeout_);
  if (!io_.stopped()) {
    socket_.close();
    io_.run();
    throw ConnectionError(std::string("timed out ") + what);
  }
}

void Connection::connect(const std::string& host, std::uint16_t port) {
  const std::string target = host + ":" + std::to_string(port);
  std::error_code error;
  asio::ip::tcp::resolver resolver(io_);
  const auto endpoints = resolver.resolve(host, std::to_string(port), error);
  if (error) throw ConnectionError("cannot connect to " + target + ": " + error.message());

  asio::async_connect(socket_, endpoints,
                      [&error](const std::error_code& result, const auto&) { error = result; });
  try {
    run_pending("connecting");
  } catch (const ConnectionError& timeout) {
    throw ConnectionError("cannot connect to " + target + ": " + timeout.what());
  }
  if (error) throw ConnectionError("cannot connect to " + target + ": " + error.message());
  socket_.set_option(asio::ip::tcp::no_delay(true));
}

void Connection::send_line(std::string_view line) {
  std::string request(line);
  request += '\n';
  std::error_code error;
  asio::async_write(socket_, asio::buffer(request),
                    [&error](const std::error_code& result, std::size_t) { error = result; });
  run_pending("sending the request");
  if (error) throw ConnectionError("connection lost: " + error.message());
}

std::string Connection::read_reply() {
  std::error_code error;
  std::size_t length = 0;
  asio::async_read_until(socket_, asio::dynamic_buffer(received_, max_reply_bytes),
                         reply_terminator, [&](const std::error_code& result, std::size_t n) {
                           error = result;
                           length = n;
                         });
  run_pending("waiting for the reply");
  if (error == asio::error::eof) throw ConnectionError("connection closed by server");
  if (error == asio::error::not_found) throw ConnectionError("reply too large");
  if (error) throw ConnectionError("connection lost: " + error.message());

  std::string reply = received_.substr(0, length - reply_terminator.size());
  received_.erase(0, length);
  return reply;
}

}  // namespace chat::client
