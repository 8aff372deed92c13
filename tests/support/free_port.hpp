#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>

namespace test_support {

// A port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed), for configs
// that must name a realm's peer port before that realm starts.
inline std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

}  // namespace test_support
