#include "support/line_client.hpp"

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <stdexcept>

namespace test_support {
namespace {

constexpr std::string_view reply_terminator = "\r\n\r\n";

}  // namespace

LineClient::LineClient(std::uint16_t port, Options options) : socket_(io_) {
  socket_.open(asio::ip::tcp::v4());
  if (options.receive_buffer_bytes > 0) {
    socket_.set_option(asio::socket_base::receive_buffer_size(options.receive_buffer_bytes));
  }
  socket_.connect({asio::ip::address_v4::loopback(), port});
}

void LineClient::send(std::string_view line) {
  std::string bytes(line);
  bytes += '\n';
  send_raw(bytes);
}

void LineClient::send_raw(std::string_view bytes) {
  asio::write(socket_, asio::buffer(bytes));
}

std::string LineClient::expect_reply(std::chrono::milliseconds timeout) {
  return read_until(reply_terminator, timeout);
}

std::string LineClient::expect_line(std::chrono::milliseconds timeout) {
  return read_until("\n", timeout);
}

std::string LineClient::read_until(std::string_view terminator, std::chrono::milliseconds timeout) {
  std::error_code result = asio::error::timed_out;
  std::size_t length = 0;
  asio::async_read_until(socket_, asio::dynamic_buffer(buffer_), terminator,
                         [&](std::error_code ec, std::size_t n) {
                           result = ec;
                           length = n;
                         });
  io_.restart();
  io_.run_for(timeout);
  if (!io_.stopped()) {  // the deadline passed first
    socket_.cancel();
    io_.restart();
    io_.run();
    throw std::runtime_error("no reply within the deadline; received so far: '" + buffer_ + "'");
  }
  if (result) {
    throw std::runtime_error("connection ended while waiting for a reply (" + result.message() +
                             "); received: '" + buffer_ + "'");
  }
  std::string reply = buffer_.substr(0, length - terminator.size());
  buffer_.erase(0, length);
  return reply;
}

std::string LineClient::request(std::string_view line, std::chrono::milliseconds timeout) {
  send(line);
  return expect_reply(timeout);
}

bool LineClient::wait_closed(std::chrono::milliseconds timeout) {
  // Completes only at end of stream (or on an error such as a reset): both mean closed.
  asio::async_read(socket_, asio::dynamic_buffer(buffer_), [](std::error_code, std::size_t) {});
  io_.restart();
  io_.run_for(timeout);
  if (io_.stopped()) return true;
  socket_.cancel();
  io_.restart();
  io_.run();
  return false;
}

void LineClient::abort() {
  socket_.set_option(asio::socket_base::linger(true, 0));
  socket_.close();
}

}  // namespace test_support
