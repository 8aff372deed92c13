#pragma once
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "client_session.hpp"
#include "commit_queue.hpp"
#include "config/realm_config.hpp"
#include "core/realm.hpp"
#include "history_readers.hpp"
#include "lease_keeper.hpp"
#include "links/peer_links.hpp"
#include "links/signing_keys.hpp"
#include "net/stream.hpp"
#include "net/tls_accept.hpp"
#include "net/tls_contexts.hpp"
#include "ops/metrics.hpp"
#include "outcome_runner.hpp"
#include "password_pool.hpp"
#include "reply_waits.hpp"
#include "store/lease.hpp"
#include "store/store.hpp"

namespace realmd {

class AdminServer;
class WebHandshake;
class WireFormat;

// One realm served on one event loop. The composition root: its state (chat::core::Realm), its
// store behind the commit queue, its password pool, its links to peer realms (PeerLinks). The
// listeners: clients (lines over TCP or TLS), optionally the browser client's page and
// WebSocket, peers (handed to PeerLinks), admin. And the client sessions. Several may share an
// io_context (in-process tests); all of its members run on that io_context's thread.
class RealmServer {
 public:
  // With a `lease` (a store shared with standbys), the server serves only while it holds the
  // realm's lease: start() makes it a standby, which loads the realm and opens its listeners
  // once it takes the lease (docs/architecture.md "Lease and fencing").
  RealmServer(asio::io_context& io, chat::config::RealmConfig config,
              std::unique_ptr<chat::store::Store> store,
              std::unique_ptr<chat::store::Lease> lease = nullptr);
  ~RealmServer();
  RealmServer(const RealmServer&) = delete;
  RealmServer& operator=(const RealmServer&) = delete;

  // Called once the server has stopped, with the process exit code it asks for: 0, or 1 when
  // the store still failed at the stop (changes never acknowledged were not stored).
  void on_stopped(std::function<void(int exit_code)> handler);

  // Called when another process took the lease over: this one must not serve any more. Its
  // listeners are closed already; the handler ends the process (realmd exits with code 3: none
  // of what it holds is acknowledged and unstored). Without a handler the server stops.
  void on_lease_lost(std::function<void()> handler);

  // Loads the store, creates the config's missing users (durably), then listens. Blocks for
  // that setup; throws chat::store::StoreError, std::system_error when it cannot listen, or
  // std::runtime_error for an unusable TLS file. With a lease: starts as a standby and does
  // all that on taking the lease (a failure then is logged and stops the server, exit code 1).
  void start();
  // True while this process serves the realm: always after start() without a lease; with one,
  // while it holds the lease (/healthz, realmchat_is_primary). Any thread.
  bool is_primary() const { return primary_.load(); }
  // 0 while not listening (a standby).
  std::uint16_t client_port() const;
  // The port of the peer listener; 0 when not listening (no federation.secret).
  std::uint16_t peer_port() const;
  // The port of the web listener; 0 when not listening (no realm.web_listen).
  std::uint16_t web_port() const;
  // The port of the admin listener; 0 when not listening (no realm.admin_listen).
  std::uint16_t admin_port() const;
  // Whether this process serves its realm (realmchat_is_primary); a standby (false) answers
  // /healthz with 503 "standby". Set when the realm starts serving (at start, or on taking the
  // lease) and when a lease is lost. With a lease, a change is an audit line.
  void set_primary(bool primary);
  // Why the realm does not serve now ("store stalled", "standby"), or nothing (/healthz).
  std::optional<std::string> unhealthy() const;
  // The Prometheus text of this realm's metrics (/metrics).
  std::string metrics_text();
  // Realm links open now, authenticated or still in their handshake.
  std::size_t open_links() const { return peer_links_.open_links(); }
  // Graceful: stops accepting, dialing and reading, sends the replies and frames already due
  // (their commits finish), commits what is queued, then reports stopped. Call on the loop
  // thread.
  void stop();

 private:
  using AcceptHandler = void (RealmServer::*)(asio::ip::tcp::socket socket);

  void listen(asio::ip::tcp::acceptor& acceptor, const chat::config::Endpoint& endpoint,
              std::string_view what, AcceptHandler on_accept);
  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, AcceptHandler on_accept);
  void accept(asio::ip::tcp::socket socket);
  void accept_web(asio::ip::tcp::socket socket);
  void accept_peer(asio::ip::tcp::socket socket);
  void accept_admin(asio::ip::tcp::socket socket);
  // A client connection in the given wire format, counted against limits.max_connections.
  void open_session(Stream stream, std::unique_ptr<WireFormat> wire);
  std::size_t client_connections() const {
    return sessions_.size() + handshakes_.size() + client_tls_.size();
  }
  bool drained() const {
    return sessions_.empty() && handshakes_.empty() && client_tls_.size() == 0 &&
           peer_links_.empty();
  }
  // Loads the realm and opens the listeners (at start, or on taking the lease).
  void serve();
  void take_over(std::uint64_t epoch);
  void lease_lost(const std::string& why);
  // The realm's signing key from the store (made or imported there first when it has none).
  void load_identity();
  void seed_users();
  void session_closed(std::uint64_t id);
  void push_event(chat::core::Push& push, std::uint64_t seq);
  void stop_if_drained();
  void finish_stop();
  // History retention: one bounded pass now and then (only when the config limits history).
  void schedule_retention();
  void run_retention();
  // History indexing: the messages stored since the last pass, in bulk (store::IndexHistory).
  void schedule_indexing();
  void index_slice();

  asio::io_context& io_;
  chat::config::RealmConfig config_;
  std::unique_ptr<chat::store::Store> store_;
  std::unique_ptr<chat::store::Lease> lease_;
  // Before realm_, which signs with it; filled in by load_identity() as the realm starts serving
  // (a standby's on taking the lease).
  std::shared_ptr<SigningKey> signing_key_;
  TlsContexts tls_;
  chat::core::Realm realm_;
  Metrics metrics_;
  PasswordPool passwords_;
  CommitQueue commits_;
  ReplyWaits waits_;
  OutcomeRunner outcomes_;
  HistoryReaders history_;
  ClientServices client_services_;  // shared by every client session
  PeerLinks peer_links_;
  asio::steady_timer retention_timer_;
  asio::steady_timer index_timer_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::acceptor peer_acceptor_;
  asio::ip::tcp::acceptor web_acceptor_;
  asio::ip::tcp::acceptor admin_acceptor_;
  std::unique_ptr<AdminServer> admin_;
  std::unordered_map<std::uint64_t, std::shared_ptr<ClientSession>> sessions_;
  std::unordered_set<std::uint64_t> web_sessions_;  // the sessions over WebSocket (metrics)
  // Web connections still speaking HTTP (a page request, or before the WebSocket upgrade).
  std::unordered_map<std::uint64_t, std::shared_ptr<WebHandshake>> handshakes_;
  TlsAccept client_tls_;  // client connections in their TLS handshake
  std::uint64_t next_handshake_id_ = 1;
  std::uint64_t next_connection_id_ = 1;
  asio::steady_timer drain_deadline_;
  std::function<void(int)> on_stopped_;
  std::function<void()> on_lease_lost_;
  std::unique_ptr<LeaseKeeper> keeper_;  // with a lease; stopped after the commit queue
  std::atomic<bool> primary_ = false;    // set_primary(); any thread reads is_primary()
  bool stopping_ = false;
  bool stopped_ = false;
  int exit_code_ = 0;
};

}  // namespace realmd
