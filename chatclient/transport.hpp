#pragma once
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace chat::client {

// TLS for a connection (TLS 1.2 or later): the server's certificate must chain to a trusted CA
// and name the host that was dialled (a DNS name, or an IP address in an IP SAN).
struct TlsOptions {
  std::filesystem::path ca_file;  // PEM; empty: the system's trusted CAs
};

// The bytes under a Connection: a TCP socket, with TLS on top of it after use_tls(). Reads and
// writes go through TLS when it is on, else straight to the socket; one read and one write may
// be pending at once either way.
class Transport {
 public:
  explicit Transport(asio::io_context& io) : socket_(io) {}

  // The TCP layer, for connecting and socket options.
  asio::ip::tcp::socket& socket() { return socket_; }

  // Puts TLS on the connected socket, to verify the server as `host`; async_handshake() next.
  // Returns the error if the CA file cannot be loaded.
  std::error_code use_tls(const TlsOptions& options, const std::string& host);

  template <typename Handler>
  void async_handshake(Handler&& handler) {
    tls_->async_handshake(asio::ssl::stream_base::client, std::forward<Handler>(handler));
  }
  // Why the handshake failed, for the user, e.g. "certificate verify failed (IP address
  // mismatch)".
  std::string handshake_failure(const std::error_code& error);

  template <typename Handler>
  void async_read_some(asio::mutable_buffer buffer, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffer, std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(buffer, std::forward<Handler>(handler));
    }
  }
  // Writes all of `buffer`.
  template <typename Handler>
  void async_write(asio::const_buffer buffer, Handler&& handler) {
    if (tls_) {
      asio::async_write(*tls_, buffer, std::forward<Handler>(handler));
    } else {
      asio::async_write(socket_, buffer, std::forward<Handler>(handler));
    }
  }

  // Whether a read error means the server hung up (rather than the network failing).
  bool is_closed_by_peer(const std::error_code& error) const;

  // Closes the socket without a TLS goodbye; pending operations end with operation_aborted.
  void close();

 private:
  asio::ip::tcp::socket socket_;
  std::optional<asio::ssl::context> context_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
};

}  // namespace chat::client
