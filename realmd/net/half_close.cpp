#include "net/half_close.hpp"

#include <array>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <system_error>

namespace realmd {

asio::awaitable<void> half_close_and_drain(asio::ip::tcp::socket& socket) {
  std::error_code ec;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  std::array<char, 512> discard;
  while (!ec) {
    co_await socket.async_read_some(asio::buffer(discard),
                                    asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace realmd
