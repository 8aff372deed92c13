#include "net/stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <asio/redirect_error.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace realmd {
namespace {

using asio::ip::tcp;

// One TLS record's worth of plaintext at most per read.
constexpr std::size_t tls_read_bytes = 16 * 1024;

// Plain connections read into this one buffer per thread once the socket is readable; the
// framer keeps only unfinished requests.
thread_local std::array<char, 64 * 1024> plain_read_buffer;

bool is_ip_address(const std::string& host) {
  std::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Stream::Stream(tcp::socket socket) : plain_(std::move(socket)) {
  // read_then() waits for readability, then reads what is there without blocking.
  std::error_code ignored;
  plain_.non_blocking(true, ignored);
}

Stream::Stream(tcp::socket socket, asio::ssl::context& tls)
    : plain_(socket.get_executor()), tls_(std::make_unique<TlsStream>(std::move(socket), tls)) {}

asio::awaitable<std::error_code> Stream::handshake(Side side, std::chrono::milliseconds timeout,
                                                   const std::string& server_name) {
  if (!tls_) co_return std::error_code();
  if (side == Side::client && !server_name.empty()) {
    tls_->set_verify_callback(asio::ssl::host_name_verification(server_name));
    // SNI carries names only (RFC 6066).
    if (!is_ip_address(server_name)) {
      SSL_set_tlsext_host_name(tls_->native_handle(), server_name.c_str());
    }
  }
  // The deadline closes the socket, which ends the handshake. The state is shared: a deadline
  // that fires as the handshake completes must not touch a stream that moved on.
  struct State {
    bool done = false;
    bool timed_out = false;
  };
  auto state = std::make_shared<State>();
  asio::steady_timer deadline(tcp().get_executor());
  deadline.expires_after(timeout);
  deadline.async_wait([this, state](std::error_code ec) {
    if (ec || state->done) return;
    state->timed_out = true;
    close();
  });
  std::error_code ec;
  co_await tls_->async_handshake(
      side == Side::client ? asio::ssl::stream_base::client : asio::ssl::stream_base::server,
      asio::redirect_error(asio::use_awaitable, ec));
  state->done = true;
  if (state->timed_out) ec = asio::error::timed_out;
  co_return ec;
}

bool Stream::certificate_names(std::string_view name) const {
  if (!tls_) return false;
  SSL* ssl = const_cast<TlsStream&>(*tls_).native_handle();
  if (SSL_get_verify_result(ssl) != X509_V_OK) return false;
  X509* certificate = SSL_get1_peer_certificate(ssl);
  if (certificate == nullptr) return false;
  const bool names = X509_check_host(certificate, name.data(), name.size(), 0, nullptr) == 1;
  X509_free(certificate);
  return names;
}

asio::mutable_buffer Stream::tls_read_buffer() {
  if (!tls_buffer_) tls_buffer_ = std::make_unique<char[]>(tls_read_bytes);
  return asio::buffer(tls_buffer_.get(), tls_read_bytes);
}

std::string_view Stream::tls_bytes_read(std::error_code& ec, std::size_t n) const {
  // A peer that closes the TCP connection without TLS's close_notify ends its stream too:
  // every request it sent was whole or is dropped, as for plain TCP.
  if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
  return std::string_view(tls_buffer_.get(), ec ? 0 : n);
}

std::optional<std::string_view> Stream::read_ready(std::error_code& ec) {
  const std::size_t n = plain_.read_some(asio::buffer(plain_read_buffer), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec.clear();
    return std::nullopt;
  }
  if (ec) return std::string_view();
  return std::string_view(plain_read_buffer.data(), n);
}

asio::awaitable<void> Stream::write(const std::vector<asio::const_buffer>& buffers,
                                    std::error_code& ec) {
  if (!tls_) {
    co_await asio::async_write(plain_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }
  if (buffers.size() == 1) {
    co_await asio::async_write(*tls_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }
  // In one piece: one TLS record for the whole batch, not one per reply.
  std::string coalesced;
  coalesced.reserve(asio::buffer_size(buffers));
  for (const asio::const_buffer& buffer : buffers) {
    coalesced.append(static_cast<const char*>(buffer.data()), buffer.size());
  }
  co_await asio::async_write(*tls_, asio::buffer(coalesced),
                             asio::redirect_error(asio::use_awaitable, ec));
}

std::size_t Stream::write_now(const std::vector<asio::const_buffer>& buffers, std::error_code& ec) {
  if (tls_) return 0;
  const std::size_t written = plain_.write_some(buffers, ec);  // non-blocking: see the constructor
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec.clear();
    return 0;
  }
  return ec ? 0 : written;
}

void Stream::shutdown_send() {
  std::error_code ignored;
  tcp().shutdown(tcp::socket::shutdown_send, ignored);
}

void Stream::shutdown_receive() {
  std::error_code ignored;
  tcp().shutdown(tcp::socket::shutdown_receive, ignored);
}

void Stream::close() {
  std::error_code ignored;
  tcp().close(ignored);
}

}  // namespace realmd
