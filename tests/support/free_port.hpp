#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <system_error>

namespace test_support {

// A port on 127.0.0.1 that was free a moment ago, for configs that must name a realm's peer
// port before that realm starts. Taken below the kernel's ephemeral range (32768 and up by
// default), at random: a port the kernel handed out for port 0 could be handed out again, as
// the source port of an outgoing connection (a realm dialling its peers), before the realm
// that was to listen on it binds it.
inline std::uint16_t free_port() {
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> below_ephemeral(20000, 32000);
  asio::io_context io;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(below_ephemeral(random));
    asio::ip::tcp::acceptor acceptor(io);
    std::error_code ec;
    acceptor.open(asio::ip::tcp::v4(), ec);
    if (!ec) acceptor.bind({asio::ip::address_v4::loopback(), port}, ec);
    if (!ec) return port;
  }
  throw std::runtime_error("no free port in 20000-32000");
}

}  // namespace test_support
