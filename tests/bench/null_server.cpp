#include "null_server.hpp"

#include <fmt/core.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace chatbench {
namespace {

using asio::ip::tcp;

constexpr std::string_view canned_reply =
    "{\"status\":\"OK\",\"message\":\"Message sent\"}\r\n\r\n";

// Reads, then writes one reply per complete non-empty line read, as realmd's framing asks
// (a blank line gets no reply); a line split across reads is tracked by `line_has_text`.
asio::awaitable<void> answer(tcp::socket socket) {
  std::array<char, 64 * 1024> received;
  std::string replies;
  bool line_has_text = false;
  for (;;) {
    const std::size_t bytes =
        co_await socket.async_read_some(asio::buffer(received), asio::use_awaitable);
    replies.clear();
    for (std::size_t i = 0; i < bytes; ++i) {
      const char c = received[i];
      if (c == '\n') {
        if (line_has_text) replies += canned_reply;
        line_has_text = false;
      } else if (c != ' ' && c != '\r') {
        line_has_text = true;
      }
    }
    if (!replies.empty())
      co_await asio::async_write(socket, asio::buffer(replies), asio::use_awaitable);
  }
}

asio::awaitable<void> accept_all(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    // A closed connection ends its coroutine with an exception; that is all it has to do.
    asio::co_spawn(acceptor.get_executor(), answer(std::move(socket)), asio::detached);
  }
}

}  // namespace

void serve_null(std::uint16_t port) {
  asio::io_context io(1);
  // Opens, binds with SO_REUSEADDR and listens with the system's largest backlog.
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), port));
  fmt::print("null server on 127.0.0.1:{}\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  asio::co_spawn(io, accept_all(acceptor), asio::detached);
  io.run();
  std::exit(1);  // only when accepting failed
}

}  // namespace chatbench
