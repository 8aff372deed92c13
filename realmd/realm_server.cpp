#include "realm_server.hpp"

#include <fmt/chrono.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <chrono>
#include <future>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "client_session.hpp"
#include "core/realm_state.hpp"
#include "net/coroutine_exit.hpp"
#include "net/endpoint_formatter.hpp"
#include "net/line_wire.hpp"
#include "ops/admin_server.hpp"
#include "ops/logging.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"
#include "system_environment.hpp"
#include "web/web_handshake.hpp"
#include "web/web_socket_wire.hpp"

namespace realmd {
namespace {

using asio::ip::tcp;

constexpr std::size_t password_threads = 2;
// How long a graceful stop waits for clients to take their last replies.
constexpr std::chrono::seconds drain_time{5};
// After a failed accept (e.g. out of file descriptors), wait before trying again.
constexpr std::chrono::milliseconds accept_retry{100};
// How long a web connection may take to send its HTTP request head (and, after answering a
// page request, to close).
constexpr std::chrono::seconds web_handshake_time{10};
// History indexing (store::IndexHistory): SqliteStore moves what was stored since the last
// pass into its conversation-ordered archive. A pass rewrites about one page per conversation
// that got messages, however many it got: the rarer the passes, the less a send costs, and the
// longer the lists of not yet indexed ids in memory (docs/performance.md measures 1, 2 and
// 5 s). A pass moves at most one slice, in the commit of its own batch, and the next slice
// waits for that commit, so that the sends' batches commit between slices: a send waits for
// one slice's move at most, not for the whole backlog (slice sizes: docs/performance.md).
constexpr std::chrono::milliseconds index_interval{2000};
constexpr std::size_t index_slice_ids = 50000;
// `history.reader_priority: adaptive`: a commit running, or begun this recently, means writes
// are flowing, and history reads go to the background readers. Sends at any rate worth
// protecting commit far more often (a commit per few ms); a quiet realm hands history the cores
// 50 ms after its last write.
constexpr std::chrono::milliseconds writes_flowing_window{50};

chat::core::RealmSettings settings_from(const chat::config::RealmConfig& config) {
  chat::core::RealmSettings settings;
  settings.name = config.name;
  settings.limits.max_line_bytes = config.limits.max_line_bytes;
  settings.limits.max_message_bytes = config.limits.max_message_bytes;
  settings.admins = config.admins;
  for (const auto& peer : config.peers) {
    chat::core::ConfiguredPeer& configured = settings.peers.emplace_back(chat::core::ConfiguredPeer{
        peer.name, peer.address.host, peer.address.port, peer.autoconnect});
    for (const auto& alternate : peer.alternates) {
      configured.alternates.emplace_back(alternate.host, alternate.port);
    }
  }
  settings.max_outbox_per_peer = config.limits.max_outbox_per_peer;
  settings.retention.max_age_days = config.history.max_age_days;
  settings.retention.max_per_conversation = config.history.max_per_conversation;
  settings.relay = config.relay;
  settings.reachable_via_relays = config.reachable_via_relays;
  // Keys pinned in the config win over those learnt earlier (docs/protocol.md §2, trust), which
  // the store holds; the realm's own key is read from the store when it starts serving.
  settings.pinned_keys = config.pinned_keys;
  return settings;
}

}  // namespace

RealmServer::RealmServer(asio::io_context& io, chat::config::RealmConfig config,
                         std::unique_ptr<chat::store::Store> store,
                         std::unique_ptr<chat::store::Lease> lease)
    : io_(io),
      config_(std::move(config)),
      store_(std::move(store)),
      lease_(std::move(lease)),
      signing_key_(std::make_shared<SigningKey>()),
      realm_(settings_from(config_), with_signing(system_environment(), signing_key_)),
      passwords_(PasswordCost::of(config_.password_cost), password_threads),
      commits_(io, *store_),
      waits_(io, realm_, metrics_,
             [this](std::uint64_t waiter) {
               chat::core::Outcome outcome = realm_.wait_timed_out(waiter);
               outcomes_.run(outcome);
             }),
      outcomes_(commits_, waits_, peer_links_,
                [this](chat::core::Push& push, std::uint64_t seq) { push_event(push, seq); }),
      history_(io, *store_, config_.history,
               [this] { return commits_.wrote_within(writes_flowing_window); }),
      client_services_{.realm = realm_,
                       .metrics = metrics_,
                       .commits = commits_,
                       .passwords = passwords_,
                       .waits = waits_,
                       .outcomes = outcomes_,
                       .history = history_,
                       .closed = [this](std::uint64_t closed_id) { session_closed(closed_id); }},
      peer_links_(io, config_, tls_, realm_, commits_, outcomes_),
      retention_timer_(io),
      index_timer_(io),
      acceptor_(io),
      peer_acceptor_(io),
      web_acceptor_(io),
      admin_acceptor_(io),
      client_tls_("realm " + config_.name, [this] { stop_if_drained(); }),
      drain_deadline_(io) {
  commits_.on_committed([this](const std::vector<chat::store::Mutation>& batch, double seconds) {
    metrics_.committed(batch, seconds);
  });
}

RealmServer::~RealmServer() {
  if (keeper_) keeper_->stop();
}

void RealmServer::on_stopped(std::function<void(int)> handler) {
  on_stopped_ = std::move(handler);
}

void RealmServer::on_lease_lost(std::function<void()> handler) {
  on_lease_lost_ = std::move(handler);
}

void RealmServer::start() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  tls_ = make_tls_contexts(config_.tls);
  // First, and on a standby too: /healthz says "standby" while it waits.
  if (config_.admin_listen) {
    admin_ = std::make_unique<AdminServer>(AdminServer::Services{
        .unhealthy = [this] { return unhealthy(); }, .metrics = [this] { return metrics_text(); }});
    listen(admin_acceptor_, *config_.admin_listen, "admin (/healthz, /metrics)",
           &RealmServer::accept_admin);
  }
  if (!lease_) {
    serve();
    return;
  }
  const std::chrono::milliseconds duration =
      config_.store ? config_.store->lease : chat::config::StoreConfig{}.lease;
  keeper_ = std::make_unique<LeaseKeeper>(
      io_, *lease_, duration,
      LeaseKeeper::Events{.acquired = [this](std::uint64_t epoch) { take_over(epoch); },
                          .lost = [this](const std::string& why) { lease_lost(why); }});
  commits_.require_lease([keeper = keeper_.get()] { return keeper->valid_until(); });
  spdlog::info("realm {}: standby: waiting for the lease", config_.name);
  keeper_->start();
}

void RealmServer::take_over(std::uint64_t epoch) {
  if (stopping_) return;
  const auto began = std::chrono::steady_clock::now();
  spdlog::info("realm {}: took the lease (epoch {}): loading the realm", config_.name, epoch);
  store_->fence(epoch);  // before any commit: every one checks the epoch from now on
  try {
    serve();
  } catch (const std::exception& e) {
    spdlog::critical("realm {}: cannot serve after taking the lease: {}", config_.name, e.what());
    exit_code_ = 1;
    stop();
    return;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
  spdlog::info("realm {}: serving as the lease holder (epoch {}), ready in {:.3f} s", config_.name,
               epoch, took.count());
}

void RealmServer::lease_lost(const std::string& why) {
  set_primary(false);
  spdlog::critical("realm {}: lost the lease ({}): stepping down", config_.name, why);
  std::error_code ignored;
  acceptor_.close(ignored);
  peer_acceptor_.close(ignored);
  web_acceptor_.close(ignored);
  if (on_lease_lost_) {
    on_lease_lost_();
    return;
  }
  exit_code_ = 3;
  stop();
}

void RealmServer::serve() {
  using Clock = std::chrono::steady_clock;
  const auto reading = Clock::now();
  load_identity();
  // The unread messages go into the inboxes as they are read (a million at start would
  // otherwise be held twice: docs/performance.md).
  std::size_t unread = 0;
  chat::store::Snapshot snapshot =
      store_->load_streaming([&](const chat::store::MessageRecord& message) {
        realm_.load_unread(message);
        ++unread;
      });
  if (const std::size_t imported = import_pinned_keys(*store_, config_.data_dir, snapshot)) {
    spdlog::info("realm {}: imported {} pinned keys from {}", config_.name, imported,
                 (config_.data_dir / old_pins_file).string());
  }
  const auto loading = Clock::now();
  realm_.load(snapshot);
  const std::chrono::duration<double> read = loading - reading;
  const std::chrono::duration<double> loaded = Clock::now() - loading;
  spdlog::info(
      "realm {}: {} users, {} unread messages: read in {:.3f} s (into the inboxes as read), "
      "the rest loaded in {:.3f} s",
      config_.name, snapshot.users.size(), unread, read.count(), loaded.count());
  seed_users();
  history_.start();
  commits_.start();
  schedule_retention();
  schedule_indexing();

  // Peers first: once the client port is logged, the realm is fully up.
  if (config_.secret.empty()) {
    spdlog::warn("realm {}: no federation.secret: not listening for realm links, not dialing",
                 config_.name);
  } else {
    listen(peer_acceptor_, config_.peer_listen, tls_.peer_listener ? "peers (TLS)" : "peers",
           &RealmServer::accept_peer);
    for (const std::string& peer : realm_.peers_to_dial()) peer_links_.dial(peer);
  }
  if (config_.web_listen) {
    listen(web_acceptor_, *config_.web_listen, "web clients", &RealmServer::accept_web);
  }
  listen(acceptor_, config_.listen, tls_.clients ? "clients (TLS)" : "clients",
         &RealmServer::accept);
  set_primary(true);
}

void RealmServer::listen(tcp::acceptor& acceptor, const chat::config::Endpoint& where,
                         std::string_view what, AcceptHandler on_accept) {
  try {
    tcp::resolver resolver(io_);
    const tcp::endpoint endpoint =
        *resolver.resolve(where.host, std::to_string(where.port)).begin();
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
  } catch (const std::system_error& e) {
    // Says which listener and which address: a port in use is the usual start-up failure.
    throw std::runtime_error(fmt::format("cannot listen for {} on {}:{}: {}", what, where.host,
                                         where.port, e.code().message()));
  }
  spdlog::info("realm {}: {} on {}", config_.name, what, acceptor.local_endpoint());
  asio::co_spawn(io_, accept_loop(acceptor, on_accept), [this, what](std::exception_ptr error) {
    log_coroutine_failure(error, fmt::format("realm {}: accepting {}", config_.name, what),
                          spdlog::level::critical);
  });
}

std::uint16_t RealmServer::client_port() const {
  if (!acceptor_.is_open()) return 0;
  return acceptor_.local_endpoint().port();
}

std::uint16_t RealmServer::peer_port() const {
  if (!peer_acceptor_.is_open()) return 0;
  return peer_acceptor_.local_endpoint().port();
}

std::uint16_t RealmServer::admin_port() const {
  if (!admin_acceptor_.is_open()) return 0;
  return admin_acceptor_.local_endpoint().port();
}

std::optional<std::string> RealmServer::unhealthy() const {
  if (!primary_) return "standby";
  if (commits_.stalled()) return "store stalled";
  return std::nullopt;
}

std::string RealmServer::metrics_text() {
  Metrics::Snapshot state{
      .client_connections = sessions_.size() - web_sessions_.size() + client_tls_.size(),
      .web_connections = web_sessions_.size() + handshakes_.size(),
      .peer_connections = peer_links_.connections(),
      .reply_waits = waits_.size(),
      .store_stalled = commits_.stalled(),
      .primary = primary_.load(),
      .peers = {}};
  for (const chat::core::Peer* peer : realm_.state().peers()) {
    state.peers.push_back({.name = peer->name,
                           .link_up = peer_links_.linked(peer->name),
                           .outbox = peer->outbox.size()});
  }
  return metrics_.serialize(state);
}

void RealmServer::set_primary(bool primary) {
  if (primary == primary_) return;
  primary_ = primary;
  // Only a realm with standbys changes roles: a lone one becomes primary once, at start.
  if (lease_) {
    audit().warn("realm {}: this process is now {}", config_.name, primary ? "primary" : "standby");
  }
}

void RealmServer::accept_admin(tcp::socket socket) {
  admin_->serve(std::move(socket));
}

std::uint16_t RealmServer::web_port() const {
  if (!web_acceptor_.is_open()) return 0;
  return web_acceptor_.local_endpoint().port();
}

void RealmServer::load_identity() {
  LoadedSigningKey loaded = load_signing_key(*store_, config_.data_dir);
  *signing_key_ = std::move(loaded.key);
  realm_.set_public_key(signing_key_->public_hex);
  // The public half only: the secret is never logged.
  spdlog::info("realm {}: signing key {} (from {})", config_.name, signing_key_->public_hex,
               loaded.source);
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

asio::awaitable<void> RealmServer::accept_loop(tcp::acceptor& acceptor, AcceptHandler on_accept) {
  asio::steady_timer retry(io_);
  while (acceptor.is_open()) {
    std::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!acceptor.is_open()) break;
    if (ec) {
      spdlog::warn("realm {}: accept failed: {}", config_.name, ec.message());
      retry.expires_after(accept_retry);
      co_await retry.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    (this->*on_accept)(std::move(socket));
  }
}

void RealmServer::accept(tcp::socket socket) {
  auto serve = [this](Stream stream) {
    open_session(std::move(stream), std::make_unique<LineWire>(config_.limits.max_line_bytes,
                                                               chat::protocol::reply::terminator));
  };
  if (!tls_.clients) {
    serve(Stream(std::move(socket)));
    return;
  }
  // Handshakes cost CPU: past the limit a client is not even answered "Server sibuk".
  if (client_connections() >= config_.limits.max_connections) {
    spdlog::warn("realm {}: {} connections open, refusing a TLS connection", config_.name,
                 client_connections());
    return;  // the socket closes here
  }
  client_tls_.accept(std::move(socket), *tls_.clients, serve);
}

void RealmServer::accept_web(tcp::socket socket) {
  if (client_connections() >= config_.limits.max_connections) {
    spdlog::warn("realm {}: {} connections open, refusing a web connection", config_.name,
                 client_connections());
    return;  // the socket closes here
  }
  const std::uint64_t id = next_handshake_id_++;
  auto handshake = std::make_shared<WebHandshake>(
      std::move(socket), id, web_handshake_time,
      WebHandshake::Services{.upgraded =
                                 [this](tcp::socket upgraded, std::string already_read) {
                                   // The id open_session gives it (before it could close).
                                   web_sessions_.insert(next_connection_id_);
                                   open_session(Stream(std::move(upgraded)),
                                                std::make_unique<WebSocketWire>(
                                                    config_.limits.max_line_bytes, already_read));
                                 },
                             .done =
                                 [this](std::uint64_t done_id) {
                                   handshakes_.erase(done_id);
                                   stop_if_drained();
                                 },
                             .allowed_origins = config_.web_origins});
  handshakes_.emplace(id, handshake);
  handshake->start();
}

void RealmServer::open_session(Stream stream, std::unique_ptr<WireFormat> wire) {
  std::error_code ignored;
  stream.tcp().set_option(tcp::no_delay(true), ignored);  // replies are small and leave whole
  const std::uint64_t id = next_connection_id_++;
  auto session = std::make_shared<ClientSession>(
      std::move(stream), id,
      Channel::Limits{.max_request_bytes = config_.limits.max_line_bytes,
                      .max_pending_reply_bytes = config_.limits.max_pending_replies_bytes,
                      .partial_request_timeout = config_.limits.partial_request},
      config_.limits.unauthenticated_idle, client_services_, std::move(wire));
  if (sessions_.size() >= config_.limits.max_connections) {
    spdlog::warn("realm {}: {} connections open, refusing another", config_.name, sessions_.size());
    session->refuse(chat::protocol::reply::error(chat::protocol::text::server_busy),
                    CloseReason::server_busy);
  }
  sessions_.emplace(id, session);
  session->start();
  // A WebSocket upgrade can finish while the server stops: that session ends at once too.
  if (stopping_) session->finish(CloseReason::server_stopping);
}

void RealmServer::push_event(chat::core::Push& push, std::uint64_t seq) {
  auto it = sessions_.find(push.connection);
  if (it == sessions_.end()) {  // gone meanwhile: the message stays unread
    realm_.reply_lost(push.fetched_after_write);
    return;
  }
  metrics_.pushed();
  it->second->push_event(std::move(push), seq);
}

void RealmServer::session_closed(std::uint64_t id) {
  sessions_.erase(id);
  web_sessions_.erase(id);
  stop_if_drained();
}

void RealmServer::accept_peer(tcp::socket socket) {
  peer_links_.accept(std::move(socket));
}

void RealmServer::stop() {
  if (stopping_) return;
  stopping_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  peer_acceptor_.close(ignored);
  web_acceptor_.close(ignored);
  admin_acceptor_.close(ignored);
  if (admin_) admin_->close_all();
  // Connections still speaking HTTP have no replies due: they close at once.
  std::vector<std::shared_ptr<WebHandshake>> handshakes;
  for (auto& [id, handshake] : handshakes_) handshakes.push_back(handshake);
  for (auto& handshake : handshakes) handshake->close();
  client_tls_.close_all();
  retention_timer_.cancel();
  index_timer_.cancel();  // what is left is indexed with the last commit (finish_stop)
  waits_.expire_all();    // replies waiting for peers answer now
  // Clients and links alike: the replies and frames already due go out (acks included, so
  // the peers need not retransmit), then they close.
  std::vector<std::shared_ptr<ClientSession>> open;
  for (auto& [id, session] : sessions_) open.push_back(session);
  for (auto& session : open) session->finish(CloseReason::server_stopping);
  peer_links_.close_all([this] { stop_if_drained(); });
  if (drained()) {
    finish_stop();
    return;
  }
  drain_deadline_.expires_after(drain_time);
  drain_deadline_.async_wait([this](std::error_code ec) {
    if (ec) return;
    spdlog::warn("realm {}: {} clients and {} links still open after {}s, closing them",
                 config_.name, sessions_.size(), peer_links_.open_links(), drain_time.count());
    std::vector<std::shared_ptr<ClientSession>> left;
    for (auto& [id, session] : sessions_) left.push_back(session);
    for (auto& session : left) session->close(CloseReason::server_stopping);
    peer_links_.close_now();
  });
}

void RealmServer::schedule_retention() {
  const chat::config::HistoryConfig& history = config_.history;
  if ((history.max_age_days == 0 && history.max_per_conversation == 0) || stopping_) return;
  retention_timer_.expires_after(history.prune_interval);
  retention_timer_.async_wait([this](std::error_code ec) {
    if (ec || stopping_) return;
    run_retention();
    schedule_retention();
  });
}

void RealmServer::schedule_indexing() {
  if (stopping_) return;
  index_timer_.expires_after(index_interval);
  index_timer_.async_wait([this](std::error_code ec) {
    if (!ec) index_slice();
  });
}

void RealmServer::index_slice() {
  if (stopping_) return;
  // A failing store has enough queued: the ids stay listed and are indexed later.
  if (commits_.stalled()) return schedule_indexing();
  chat::core::Outcome outcome = realm_.index_pass(index_slice_ids);
  const std::uint64_t seq = outcomes_.run(outcome);
  // A partial slice is the whole backlog; a full one may leave more, moved once it committed.
  if (realm_.unindexed_count() < index_slice_ids) return schedule_indexing();
  commits_.when_committed(seq, [this] { index_slice(); });
}

void RealmServer::run_retention() {
  using namespace std::chrono;
  // A store that is failing has enough queued already; the pass comes again later.
  if (commits_.stalled()) return;
  std::string older_than;
  if (config_.history.max_age_days != 0) {
    const auto cutoff = system_clock::now() - days(config_.history.max_age_days);
    older_than = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(system_clock::to_time_t(cutoff)));
  }
  chat::core::Outcome outcome = realm_.retention_pass(older_than);
  outcomes_.run(outcome);
}

void RealmServer::stop_if_drained() {
  if (stopping_ && drained()) finish_stop();
}

void RealmServer::finish_stop() {
  if (stopped_) return;
  stopped_ = true;
  drain_deadline_.cancel();
  // The history not indexed yet is indexed with the last commit: otherwise the next start's
  // Store::load does it before listening (150,000 messages after a million sent: half of a
  // restart's CPU, docs/performance.md). Not on a failing store or after the lease is gone.
  if (primary_ && !commits_.stalled()) {
    chat::core::Outcome rest = realm_.index_pass(std::numeric_limits<std::size_t>::max());
    outcomes_.run(rest);
  }
  // Commits what the last replies queued; a store still failing loses it (never acknowledged).
  if (!commits_.stop() && exit_code_ == 0) exit_code_ = 1;
  // After the last commit: a standby may take over only once nothing more is written.
  primary_ = false;
  if (keeper_) keeper_->stop();
  history_.stop();
  passwords_.stop();
  spdlog::info("realm {}: stopped", config_.name);
  if (on_stopped_) on_stopped_(exit_code_);
}

}  // namespace realmd
