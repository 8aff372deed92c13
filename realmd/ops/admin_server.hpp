#pragma once
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "net/http_request.hpp"

namespace realmd {

// The admin listener (`realm.admin_listen`, docs/operations.md): GET or HEAD /healthz and
// /metrics over HTTP/1.0 or 1.1, with keep-alive (Prometheus scrapes over one connection), on
// the realm's own event loop. Nothing else is served there.
class AdminServer {
 public:
  struct Services {
    // Why the realm does not serve now (store stalled, standby), or nothing when it does.
    std::function<std::optional<std::string>()> unhealthy;
    // The Prometheus text of the realm's metrics.
    std::function<std::string()> metrics;
  };
  // A connection idle this long between requests is closed.
  static constexpr std::chrono::seconds idle_time{30};

  explicit AdminServer(Services services);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Serves an accepted connection until it closes.
  void serve(asio::ip::tcp::socket socket);
  // Closes every connection (the server stops).
  void close_all();

  // The response to one request (pure, for the tests).
  std::string answer(const HttpRequest& request) const;

 private:
  class Connection;
  Services services_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 1;
};

}  // namespace realmd
