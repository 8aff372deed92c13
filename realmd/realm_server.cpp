#include "realm_server.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <utility>
#include <vector>

#include "client_session.hpp"
#include "endpoint_formatter.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"
#include "system_environment.hpp"

namespace realmd {
namespace {

using asio::ip::tcp;

constexpr std::size_t password_threads = 2;
// How long a graceful stop waits for clients to take their last replies.
constexpr std::chrono::seconds drain_time{5};
// After a failed accept (e.g. out of file descriptors), wait before trying again.
constexpr std::chrono::milliseconds accept_retry{100};

chat::core::RealmSettings settings_from(const chat::config::RealmConfig& config) {
  chat::core::RealmSettings settings;
  settings.name = config.name;
  settings.limits.max_line_bytes = config.limits.max_line_bytes;
  settings.limits.max_message_bytes = config.limits.max_message_bytes;
  settings.admins = config.admins;
  for (const auto& peer : config.peers) {
    settings.peers.push_back({peer.name, peer.address.host, peer.address.port, peer.autoconnect});
  }
  settings.max_outbox_per_peer = config.limits.max_outbox_per_peer;
  return settings;
}

}  // namespace

RealmServer::RealmServer(asio::io_context& io, chat::config::RealmConfig config,
                         std::unique_ptr<chat::store::Store> store)
    : io_(io),
      config_(std::move(config)),
      store_(std::move(store)),
      realm_(settings_from(config_), system_environment()),
      passwords_(PasswordCost::named(config_.password_cost), password_threads),
      commits_(io, *store_),
      waits_(io, realm_, commits_),
      acceptor_(io),
      drain_deadline_(io) {}

RealmServer::~RealmServer() = default;

void RealmServer::on_stopped(std::function<void(int)> handler) {
  on_stopped_ = std::move(handler);
}

void RealmServer::start() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  realm_.load(store_->load());
  seed_users();
  commits_.on_failure([this](const std::string&) { stop_with(1); });
  commits_.start();

  tcp::resolver resolver(io_);
  const tcp::endpoint endpoint =
      *resolver.resolve(config_.listen.host, std::to_string(config_.listen.port)).begin();
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  spdlog::info("realm {}: clients on {}", config_.name, acceptor_.local_endpoint());
  asio::co_spawn(io_, accept_loop(), [this](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::critical("realm {}: accepting failed: {}", config_.name, e.what());
    }
  });
}

std::uint16_t RealmServer::client_port() const {
  return acceptor_.local_endpoint().port();
}

void RealmServer::seed_users() {
  // Hashes run in parallel on the pool; the users exist durably before the first client.
  std::vector<std::pair<const chat::config::SeedUser*, std::future<chat::core::PasswordResult>>>
      hashing;
  for (const auto& user : config_.users) {
    if (realm_.has_user(user.username)) continue;
    chat::core::PasswordJob job{
        .kind = chat::core::PasswordJob::Kind::hash, .password = user.password, .hash = {}};
    hashing.emplace_back(&user, passwords_.async_run(std::move(job), asio::use_future));
  }
  std::vector<chat::store::Mutation> batch;
  for (auto& [user, future] : hashing) {
    chat::core::PasswordResult result = future.get();
    if (!result.ok)
      throw std::runtime_error("hashing the password of " + user->username + " failed");
    if (auto mutation = realm_.seed_user({.username = user->username,
                                          .password_hash = std::move(result.hash),
                                          .nama = user->nama,
                                          .negara = user->negara})) {
      batch.push_back(std::move(*mutation));
    }
  }
  if (batch.empty()) return;
  store_->commit(batch);
  spdlog::info("realm {}: created {} configured users", config_.name, batch.size());
}

asio::awaitable<void> RealmServer::accept_loop() {
  asio::steady_timer retry(io_);
  while (acceptor_.is_open()) {
    std::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!acceptor_.is_open()) break;
    if (ec) {
      spdlog::warn("realm {}: accept failed: {}", config_.name, ec.message());
      retry.expires_after(accept_retry);
      co_await retry.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    accept(std::move(socket));
  }
}

void RealmServer::accept(tcp::socket socket) {
  std::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // replies are small and leave whole
  const std::uint64_t id = next_connection_id_++;
  auto session = std::make_shared<ClientSession>(
      std::move(socket), id,
      LineChannel::Limits{.max_line_bytes = config_.limits.max_line_bytes,
                          .max_pending_reply_bytes = config_.limits.max_pending_replies_bytes},
      ClientServices{.realm = realm_,
                     .commits = commits_,
                     .passwords = passwords_,
                     .waits = waits_,
                     .closed = [this](std::uint64_t closed_id) { session_closed(closed_id); }});
  if (sessions_.size() >= config_.limits.max_connections) {
    spdlog::warn("realm {}: {} connections open, refusing another", config_.name, sessions_.size());
    session->refuse(chat::protocol::reply::error(chat::protocol::text::server_busy),
                    CloseReason::server_busy);
  }
  sessions_.emplace(id, session);
  session->start();
}

void RealmServer::session_closed(std::uint64_t id) {
  sessions_.erase(id);
  if (stopping_ && sessions_.empty()) finish_stop();
}

void RealmServer::stop() {
  stop_with(0);
}

void RealmServer::stop_with(int exit_code) {
  if (stopping_) {
    exit_code_ = std::max(exit_code_, exit_code);
    return;
  }
  stopping_ = true;
  exit_code_ = exit_code;
  std::error_code ignored;
  acceptor_.close(ignored);
  if (exit_code == 0) waits_.expire_all();  // replies waiting for peers answer now
  std::vector<std::shared_ptr<ClientSession>> open;
  for (auto& [id, session] : sessions_) open.push_back(session);
  for (auto& session : open) {
    // After a store failure no reply can be sent truthfully: close at once (fail-stop).
    if (exit_code == 0) {
      session->finish(CloseReason::server_stopping);
    } else {
      session->close(CloseReason::store_failed);
    }
  }
  if (sessions_.empty()) {
    finish_stop();
    return;
  }
  drain_deadline_.expires_after(drain_time);
  drain_deadline_.async_wait([this](std::error_code ec) {
    if (ec) return;
    spdlog::warn("realm {}: {} clients still open after {}s, closing them", config_.name,
                 sessions_.size(), drain_time.count());
    std::vector<std::shared_ptr<ClientSession>> left;
    for (auto& [id, session] : sessions_) left.push_back(session);
    for (auto& session : left) session->close(CloseReason::server_stopping);
  });
}

void RealmServer::finish_stop() {
  if (stopped_) return;
  stopped_ = true;
  drain_deadline_.cancel();
  commits_.stop();  // commits what the last replies queued (nothing after a store failure)
  passwords_.stop();
  spdlog::info("realm {}: stopped", config_.name);
  if (on_stopped_) on_stopped_(exit_code_);
}

}  // namespace realmd
