#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <mutex>
#include <random>
#include <stdexcept>
#include <system_error>
#include <unordered_set>

namespace test_support {

// A port on 127.0.0.1 that was free a moment ago, for configs that must name a realm's peer
// port before that realm starts. Taken below the kernel's ephemeral range (32768 and up by
// default), at random: a port the kernel handed out for port 0 could be handed out again, as
// the source port of an outgoing connection (a realm dialling its peers), before the realm
// that was to listen on it binds it.
//
// Never the same port twice in one process: the probe closes its socket at once, so without
// this record two realms of one test (picked before either binds) could both be given the
// same free port, and the second to start would fail with "Address already in use" (about
// one three-realm test in 4,000; the same error showed in runs of one test binary that
// overlapped, where only separate ranges or network namespaces help).
inline std::uint16_t free_port() {
  static std::mutex mutex;
  static std::unordered_set<std::uint16_t> handed_out;
  static std::mt19937 random(std::random_device{}());
  const std::lock_guard lock(mutex);
  std::uniform_int_distribution<int> below_ephemeral(20000, 32000);
  asio::io_context io;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(below_ephemeral(random));
    if (handed_out.contains(port)) continue;
    asio::ip::tcp::acceptor acceptor(io);
    std::error_code ec;
    acceptor.open(asio::ip::tcp::v4(), ec);
    if (!ec) acceptor.bind({asio::ip::address_v4::loopback(), port}, ec);
    if (!ec) {
      handed_out.insert(port);
      return port;
    }
  }
  throw std::runtime_error("no free port in 20000-32000");
}

}  // namespace test_support
