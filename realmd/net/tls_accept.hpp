#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "net/stream.hpp"

namespace realmd {

// The server side of the TLS handshake on the connections a listener accepts. Each handshake
// is listed while it runs, so that the listener counts it against its connection limit and a
// stop can cut it short. Runs on the listener's event loop.
class TlsAccept {
 public:
  // How long an accepted connection may take over its handshake.
  static constexpr std::chrono::milliseconds handshake_time{10'000};

  // `name`: whose listener, for the logs ("realm a"). `gone`: a handshake ended without handing
  // its stream on (it failed, timed out, or finished after close_all()).
  TlsAccept(std::string name, std::function<void()> gone);
  TlsAccept(const TlsAccept&) = delete;
  TlsAccept& operator=(const TlsAccept&) = delete;

  // Shakes hands on `socket` with `tls`, then hands the stream to `then`. A failed or slow
  // handshake only closes the connection.
  void accept(asio::ip::tcp::socket socket, asio::ssl::context& tls,
              std::function<void(Stream)> then);
  // Connections still in their handshake.
  std::size_t size() const { return pending_.size(); }
  // Closes the connections still in their handshake; from now on none is handed on.
  void close_all();

 private:
  asio::awaitable<void> handshake(Stream stream, std::function<void(Stream)> then);

  std::string name_;
  std::function<void()> gone_;
  std::unordered_map<std::uint64_t, Stream*> pending_;  // the streams live in handshake()'s frames
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace realmd
