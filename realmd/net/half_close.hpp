#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

namespace realmd {

// After an HTTP listener's last response: half-closes `socket` and reads until the client
// closes (or the socket is closed under it, e.g. by a deadline). Closing first with the
// client's bytes unread would send a reset, which can destroy the response in flight.
asio::awaitable<void> half_close_and_drain(asio::ip::tcp::socket& socket);

}  // namespace realmd
