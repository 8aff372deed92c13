#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace realmd {

// The bytes of one connection: plain TCP, or TLS over TCP (asio::ssl, OpenSSL). Channels,
// dialers and listeners read and write through it without caring which. Single-threaded, like
// the channel that owns it.
class Stream {
 public:
  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;
  enum class Side { client, server };

  // Plain TCP; `socket` is open.
  explicit Stream(asio::ip::tcp::socket socket);
  // TLS over `socket` with the settings of `tls` (which outlives the stream); handshake() first.
  Stream(asio::ip::tcp::socket socket, asio::ssl::context& tls);
  Stream(Stream&&) = default;
  Stream& operator=(Stream&&) = default;

  bool is_tls() const { return tls_ != nullptr; }
  // The TCP socket under it: options, endpoints, executor.
  asio::ip::tcp::socket& tcp() { return tls_ ? tls_->next_layer() : plain_; }
  const asio::ip::tcp::socket& tcp() const { return tls_ ? tls_->next_layer() : plain_; }

  // The TLS handshake (nothing for plain TCP), closed after `timeout`. A client checks that the
  // server's certificate names `server_name` and sends it as SNI. Returns why it failed.
  asio::awaitable<std::error_code> handshake(Side side, std::chrono::milliseconds timeout,
                                             const std::string& server_name = {});
  // Whether the peer's verified certificate names `name` (a DNS name in its subjectAltName):
  // false without TLS or without a certificate.
  bool certificate_names(std::string_view name) const;

  // Waits for bytes, then calls `handler(std::error_code, std::string_view bytes)`: a view valid
  // until the next read; an empty view with the error code set at the end (asio::error::eof
  // when the peer closed, cleanly or not). A plain completion handler, not a coroutine: a
  // connection waiting for its next request holds only this small operation. The stream stays
  // put until the handler has run (it keeps a pointer to it).
  template <typename Handler>
  void read_then(Handler handler);
  // Writes every byte of `buffers`.
  asio::awaitable<void> write(const std::vector<asio::const_buffer>& buffers, std::error_code& ec);
  // Writes what the socket takes at once, without waiting, and returns the bytes written (over
  // TLS: none). The kernel nearly always takes a batch of replies whole; write() is then not
  // needed, nor its coroutine frame and operation (three allocations per write).
  std::size_t write_now(const std::vector<asio::const_buffer>& buffers, std::error_code& ec);

  // Half-closes the TCP connection: no more writes / wakes a pending read with end-of-stream.
  void shutdown_send();
  void shutdown_receive();
  void close();

 private:
  // The buffer a TLS read lands in, made at the first.
  asio::mutable_buffer tls_read_buffer();
  // The bytes of a TLS read that completed with `ec`; the peer's close without close_notify
  // becomes asio::error::eof.
  std::string_view tls_bytes_read(std::error_code& ec, std::size_t n) const;
  // Reads what a readable plain socket holds, without blocking; nullopt when nothing was there
  // after all (wait again).
  std::optional<std::string_view> read_ready(std::error_code& ec);

  asio::ip::tcp::socket plain_;     // without TLS; moved into tls_ with it
  std::unique_ptr<TlsStream> tls_;  // a pointer: keeps Stream movable and small without TLS
  // TLS reads land here; plain reads use a buffer shared by the thread, since a plain
  // connection waits for readability first and holds no buffer while idle.
  std::unique_ptr<char[]> tls_buffer_;
};

template <typename Handler>
void Stream::read_then(Handler handler) {
  if (tls_) {
    tls_->async_read_some(tls_read_buffer(), [this, handler = std::move(handler)](
                                                 std::error_code ec, std::size_t n) mutable {
      const std::string_view bytes = tls_bytes_read(ec, n);
      handler(ec, bytes);
    });
    return;
  }
  plain_.async_wait(asio::ip::tcp::socket::wait_read,
                    [this, handler = std::move(handler)](std::error_code ec) mutable {
                      std::optional<std::string_view> bytes;
                      if (!ec && !(bytes = read_ready(ec))) {
                        read_then(std::move(handler));
                        return;
                      }
                      handler(ec, ec ? std::string_view() : *bytes);
                    });
}

}  // namespace realmd
