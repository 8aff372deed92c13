#pragma once
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "commit_queue.hpp"
#include "config/realm_config.hpp"
#include "core/realm.hpp"
#include "password_pool.hpp"
#include "reply_waits.hpp"
#include "store/store.hpp"

namespace realmd {

class ClientSession;

// One realm served on one event loop: its state (chat::core::Realm), its store behind the
// commit queue, its password pool and its client listener. Several may share an io_context
// (in-process tests); all of its members run on that io_context's thread.
class RealmServer {
 public:
  RealmServer(asio::io_context& io, chat::config::RealmConfig config,
              std::unique_ptr<chat::store::Store> store);
  ~RealmServer();
  RealmServer(const RealmServer&) = delete;
  RealmServer& operator=(const RealmServer&) = delete;

  // Called once the server has stopped, with the process exit code it asks for: 0 after
  // stop(), 1 after a store failure.
  void on_stopped(std::function<void(int exit_code)> handler);

  // Loads the store, creates the config's missing users (durably), then listens. Blocks for
  // that setup; throws chat::store::StoreError, or std::system_error when it cannot listen.
  void start();
  std::uint16_t client_port() const;
  // Graceful: stops accepting and reading, sends the replies already due (their commits
  // finish), commits what is queued, then reports stopped. Call on the loop thread.
  void stop();

 private:
  asio::awaitable<void> accept_loop();
  void accept(asio::ip::tcp::socket socket);
  void seed_users();
  void session_closed(std::uint64_t id);
  void stop_with(int exit_code);
  void finish_stop();

  asio::io_context& io_;
  chat::config::RealmConfig config_;
  std::unique_ptr<chat::store::Store> store_;
  chat::core::Realm realm_;
  PasswordPool passwords_;
  CommitQueue commits_;
  ReplyWaits waits_;
  asio::ip::tcp::acceptor acceptor_;
  std::unordered_map<std::uint64_t, std::shared_ptr<ClientSession>> sessions_;
  std::uint64_t next_connection_id_ = 1;
  asio::steady_timer drain_deadline_;
  std::function<void(int)> on_stopped_;
  bool stopping_ = false;
  bool stopped_ = false;
  int exit_code_ = 0;
};

}  // namespace realmd
