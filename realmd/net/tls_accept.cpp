#include "net/tls_accept.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ssl/error.hpp>
#include <utility>

#include "net/endpoint_formatter.hpp"

namespace realmd {

TlsAccept::TlsAccept(std::string name, std::function<void()> gone)
    : name_(std::move(name)), gone_(std::move(gone)) {}

void TlsAccept::accept(asio::ip::tcp::socket socket, asio::ssl::context& tls,
                       std::function<void(Stream)> then) {
  const auto executor = socket.get_executor();
  asio::co_spawn(executor, handshake(Stream(std::move(socket), tls), std::move(then)),
                 asio::detached);
}

void TlsAccept::close_all() {
  closed_ = true;
  for (auto& [id, stream] : pending_) stream->close();
}

asio::awaitable<void> TlsAccept::handshake(Stream stream, std::function<void(Stream)> then) {
  const std::uint64_t id = next_id_++;
  pending_.emplace(id, &stream);
  const std::error_code ec = co_await stream.handshake(Stream::Side::server, handshake_time);
  pending_.erase(id);
  if (ec || closed_) {
    if (ec) {
      // A connection closed before saying anything is a port probe, not a broken client.
      const bool probe = ec == asio::ssl::error::stream_truncated || ec == asio::error::eof;
      std::error_code ignored;
      spdlog::log(probe ? spdlog::level::debug : spdlog::level::info,
                  "{}: TLS handshake with {} failed: {}", name_,
                  stream.tcp().remote_endpoint(ignored), ec.message());
    }
    gone_();
    co_return;
  }
  then(std::move(stream));
}

}  // namespace realmd
