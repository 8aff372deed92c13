#pragma once
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "config/realm_config.hpp"
#include "realm_server.hpp"
#include "store/lease.hpp"
#include "store/store.hpp"

namespace test_support {

// One in-process RealmServer on its own event-loop thread (ports from the config; 0 = any).
class RunningRealm {
 public:
  // With a `lease`, the server starts as a standby (see RealmServer).
  RunningRealm(chat::config::RealmConfig config, std::unique_ptr<chat::store::Store> store,
               std::unique_ptr<chat::store::Lease> lease = nullptr)
      : server_(io_, std::move(config), std::move(store), std::move(lease)) {
    server_.on_stopped([this](int code) { exit_code_ = code; });
    server_.start();
    loop_ = std::thread([this] { io_.run(); });
  }
  ~RunningRealm() { stop(); }
  RunningRealm(const RunningRealm&) = delete;
  RunningRealm& operator=(const RunningRealm&) = delete;

  // 0 while not listening. A standby listens once is_primary() says so (read that first: the
  // loop thread opens the listener before it sets is_primary).
  std::uint16_t port() const { return server_.client_port(); }
  bool is_primary() const { return server_.is_primary(); }
  std::uint16_t web_port() const { return server_.web_port(); }
  // Graceful stop; returns the exit code the server asked for.
  int stop() {
    if (loop_.joinable()) {
      asio::post(io_, [this] { server_.stop(); });
      loop_.join();
    }
    return exit_code_;
  }
  int exit_code() const { return exit_code_; }
  bool loop_ended() const { return io_.stopped(); }

 private:
  asio::io_context io_;
  realmd::RealmServer server_;
  std::atomic<int> exit_code_ = -1;
  std::thread loop_;
};

}  // namespace test_support
