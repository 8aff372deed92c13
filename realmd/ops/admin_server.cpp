#include "ops/admin_server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <string_view>
#include <vector>

#include "net/half_close.hpp"

namespace realmd {

using asio::ip::tcp;

namespace {

constexpr std::string_view text_plain = "text/plain; charset=utf-8";
constexpr std::string_view prometheus_text = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

// One admin connection: requests in turn, each answered before the next is read.
class AdminServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const AdminServer& server)
      : socket_(std::move(socket)), server_(server), idle_(socket_.get_executor()) {}

  void start(std::function<void()> done) {
    asio::co_spawn(socket_.get_executor(), run(shared_from_this()),
                   [done = std::move(done)](std::exception_ptr) { done(); });
  }
  void close() {
    std::error_code ignored;
    socket_.close(ignored);
    idle_.cancel();
  }

 private:
  static asio::awaitable<void> run(std::shared_ptr<Connection> self) { co_await self->serve(); }

  void arm_idle_timer() {
    idle_.expires_after(idle_time);
    idle_.async_wait([weak = weak_from_this()](std::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->close();
    });
  }

  asio::awaitable<void> serve() {
    HttpRequestParser parser;
    std::string unread;  // bytes read but not parsed yet (pipelined requests)
    std::array<char, 4096> chunk;
    for (;;) {
      arm_idle_timer();
      while (parser.state() == HttpRequestParser::State::incomplete) {
        if (unread.empty()) {
          std::error_code ec;
          const std::size_t n = co_await socket_.async_read_some(
              asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;  // the client left, or the idle timer closed the socket
          unread.assign(chunk.data(), n);
        }
        unread.erase(0, parser.feed(unread));
      }
      const bool complete = parser.state() == HttpRequestParser::State::complete;
      std::string response =
          complete ? server_.answer(parser.request())
          : parser.state() == HttpRequestParser::State::too_large
              ? http_response("431 Request Header Fields Too Large", text_plain,
                              "431 Request Header Fields Too Large\n", false, false)
              : http_response("400 Bad Request", text_plain, "400 Bad Request\n", false, false);
      const bool keep_alive = complete && parser.request().keep_alive;
      std::error_code ec;
      co_await asio::async_write(socket_, asio::buffer(response),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      if (!keep_alive) break;
      parser.reset();
    }
    co_await finish();
  }

  // After the last response: the client closes first, so that no reset destroys the response.
  asio::awaitable<void> finish() {
    co_await half_close_and_drain(socket_);
    close();
  }

  tcp::socket socket_;
  const AdminServer& server_;
  asio::steady_timer idle_;
};

AdminServer::AdminServer(Services services) : services_(std::move(services)) {}

AdminServer::~AdminServer() {
  close_all();
}

void AdminServer::serve(tcp::socket socket) {
  const std::uint64_t id = next_id_++;
  auto connection = std::make_shared<Connection>(std::move(socket), *this);
  connections_.emplace(id, connection);
  connection->start([this, id] { connections_.erase(id); });
}

void AdminServer::close_all() {
  std::vector<std::shared_ptr<Connection>> open;
  for (auto& [id, connection] : connections_) open.push_back(connection);
  for (auto& connection : open) connection->close();
}

std::string AdminServer::answer(const HttpRequest& request) const {
  const bool head_only = request.method == "HEAD";
  const bool keep_alive = request.keep_alive;
  if (request.method != "GET" && !head_only) {
    return http_response("405 Method Not Allowed", text_plain, "405 Method Not Allowed\n", false,
                         keep_alive, "Allow: GET, HEAD\r\n");
  }
  const std::string_view path =
      std::string_view(request.target).substr(0, request.target.find('?'));
  if (path == "/healthz") {
    if (const auto reason = services_.unhealthy()) {
      return http_response("503 Service Unavailable", text_plain, *reason + "\n", head_only,
                           keep_alive);
    }
    return http_response("200 OK", text_plain, "ok\n", head_only, keep_alive);
  }
  if (path == "/metrics") {
    return http_response("200 OK", prometheus_text, services_.metrics(), head_only, keep_alive);
  }
  return http_response("404 Not Found", text_plain, "404 Not Found\n", head_only, keep_alive);
}

}  // namespace realmd
