#include "web/web_handshake.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <exception>

#include "net/coroutine_exit.hpp"
#include "net/half_close.hpp"
#include "net/http_request.hpp"
#include "web/web_http.hpp"
#include "web/web_origin.hpp"

namespace realmd {

using asio::ip::tcp;

WebHandshake::WebHandshake(tcp::socket socket, std::uint64_t id, std::chrono::milliseconds timeout,
                           Services services)
    : socket_(std::move(socket)),
      id_(id),
      timeout_(timeout),
      services_(std::move(services)),
      deadline_(socket_.get_executor()) {}

void WebHandshake::start() {
  auto self = shared_from_this();
  // A client that sends its head slowly, or not at all, holds a socket only this long.
  deadline_.expires_after(timeout_);
  deadline_.async_wait([weak = weak_from_this()](std::error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->close();
  });
  asio::co_spawn(
      socket_.get_executor(), [self] { return self->run(); },
      [self](std::exception_ptr error) {
        log_coroutine_failure(error, fmt::format("web connection {}", self->id_));
        self->deadline_.cancel();
        self->services_.done(self->id_);
      });
}

void WebHandshake::close() {
  std::error_code ignored;
  socket_.close(ignored);
}

asio::awaitable<void> WebHandshake::run() {
  HttpRequestParser parser;
  std::string already_read;  // bytes behind the request (a WebSocket client's first frames)
  std::array<char, 4096> chunk;
  while (parser.state() == HttpRequestParser::State::incomplete) {
    std::error_code ec;
    const std::size_t n = co_await socket_.async_read_some(
        asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // the client left, or the deadline closed the socket
    const std::string_view bytes(chunk.data(), n);
    already_read = bytes.substr(parser.feed(bytes));
  }
  if (parser.state() == HttpRequestParser::State::too_large) {
    co_await answer(answer_head_too_large().response);
    co_return;
  }
  const bool complete = parser.state() == HttpRequestParser::State::complete;
  HttpAnswer reply = complete ? answer_http_request(parser.request()) : answer_bad_request();
  if (reply.upgrade && !websocket_origin_allowed(parser.request(), services_.allowed_origins)) {
    spdlog::warn("web client {}: WebSocket refused for origin '{}' (see realm.web_origins)", id_,
                 parser.request().header("origin").substr(0, 200));
    reply = answer_forbidden_origin();
  }
  if (!reply.upgrade) {
    co_await answer(reply.response);
    co_return;
  }
  std::error_code ec;
  co_await asio::async_write(socket_, asio::buffer(reply.response),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  deadline_.cancel();
  services_.upgraded(std::move(socket_), std::move(already_read));
}

asio::awaitable<void> WebHandshake::answer(const std::string& response) {
  std::error_code ec;
  co_await asio::async_write(socket_, asio::buffer(response),
                             asio::redirect_error(asio::use_awaitable, ec));
  // Our side is done; the client closes after reading (Connection: close), or the deadline
  // closes the socket.
  co_await half_close_and_drain(socket_);
  close();
}

}  // namespace realmd
