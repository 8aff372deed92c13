#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace realmd {

// One connection to the web listener while it still speaks HTTP: reads one request
// (HttpRequestParser; a head of at most max_http_head_bytes, within `timeout`), then either answers
// it (a file of the page, or an error) and closes, or answers the WebSocket upgrade and hands the
// socket over.
class WebHandshake : public std::enable_shared_from_this<WebHandshake> {
 public:
  struct Services {
    // The upgrade was answered: the socket now carries WebSocket frames; `already_read` holds
    // the bytes that came behind the request head.
    std::function<void(asio::ip::tcp::socket socket, std::string already_read)> upgraded;
    // Called once, when this handshake is over (answered, upgraded, failed or closed).
    std::function<void(std::uint64_t id)> done;
    // Origins other than the page's own that may open the WebSocket (realm.web_origins).
    std::vector<std::string> allowed_origins;
  };

  WebHandshake(asio::ip::tcp::socket socket, std::uint64_t id, std::chrono::milliseconds timeout,
               Services services);

  std::uint64_t id() const { return id_; }
  void start();
  // Ends it at once (the server is stopping); `done` follows.
  void close();

 private:
  asio::awaitable<void> run();
  asio::awaitable<void> answer(const std::string& response);

  asio::ip::tcp::socket socket_;
  std::uint64_t id_;
  std::chrono::milliseconds timeout_;
  Services services_;
  asio::steady_timer deadline_;
};

}  // namespace realmd
