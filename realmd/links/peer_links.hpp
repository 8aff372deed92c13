#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/realm_config.hpp"
#include "core/outcome.hpp"
#include "core/realm.hpp"
#include "net/stream.hpp"
#include "net/tls_accept.hpp"
#include "net/tls_contexts.hpp"

namespace realmd {

class CommitGate;
class OutcomeRunner;
class PeerDialer;
class PeerLink;

// This realm's links to its peers (docs/architecture.md "Links in realmd"): every open link,
// accepted or dialled, authenticated or still in its handshake; the authenticated link of each
// peer, at most one per pair of realms (the one-link rule: federation::keep_new_link); one
// PeerDialer per peer it dials; and the route announcements that go out over the links.
// OutcomeRunner sends, dials, announces and pins through it; the peer listener hands it the
// connections it accepts. Everything runs on the realm's event loop.
class PeerLinks {
 public:
  // All of these outlive it. `tls` is read when a link is accepted or dialled (RealmServer fills
  // it in at start).
  PeerLinks(asio::io_context& io, const chat::config::RealmConfig& config, const TlsContexts& tls,
            chat::core::Realm& realm, CommitGate& commits, OutcomeRunner& outcomes);
  ~PeerLinks();
  PeerLinks(const PeerLinks&) = delete;
  PeerLinks& operator=(const PeerLinks&) = delete;

  // A connection the peer listener accepted: a link (after a TLS handshake with tls.peers),
  // unless limits.max_connections links are open already.
  void accept(asio::ip::tcp::socket socket);
  // Keeps `peer` linked from now on (a PeerDialer), unless a dialer is at it already.
  void dial(const std::string& peer);
  // Sends a frame on its peer's current link once commit `seq` is done. With no link up the
  // frame is dropped: the outbox replays what must arrive on the next link; waits time out.
  void send(const chat::core::OutgoingFrame& frame, std::uint64_t seq);
  // The realm's routes changed: Realm::announce_routes once after the settings' route_interval,
  // so that a burst of changes (a flap storm) makes one announcement per link, not one each.
  void announce_soon();
  // A signing key of another realm was pinned (its store::PutPin is in commit `seq`): logged
  // once it is stored.
  void pinned(const std::string& realm, std::uint64_t seq);

  // Stops dialing, announcing and accepting TLS, and finishes every link: the frames already due
  // go out (acks included, so the peers need not retransmit), then it closes. `drained` runs
  // when the last link is gone, never from within this call (empty() says whether one is open).
  void close_all(std::function<void()> drained);
  // Closes the links still open at once, due frames or not (a stop that waited long enough).
  void close_now();

  // Whether the realm has an authenticated link to `peer` now, dialled or accepted.
  bool linked(std::string_view peer) const { return linked_.contains(peer); }
  // Links open now, authenticated or still in their handshake.
  std::size_t open_links() const { return links_.size(); }
  // Open links and accepted connections still in their TLS handshake.
  std::size_t connections() const { return links_.size() + tls_accept_.size(); }
  bool empty() const { return connections() == 0; }

 private:
  std::shared_ptr<PeerLink> open_link(Stream stream, std::optional<std::string> dialed_peer);
  // The one-link rule; false: the existing link wins and `link` is to close.
  bool authenticated(const std::shared_ptr<PeerLink>& link);
  void closed(PeerLink& link);
  void gone();

  asio::io_context& io_;
  const chat::config::RealmConfig& config_;
  const TlsContexts& tls_;
  chat::core::Realm& realm_;
  CommitGate& commits_;
  OutcomeRunner& outcomes_;
  TlsAccept tls_accept_;
  std::unordered_map<std::uint64_t, std::shared_ptr<PeerLink>> links_;    // every open link
  std::map<std::string, std::shared_ptr<PeerLink>, std::less<>> linked_;  // authenticated, per peer
  std::map<std::string, std::shared_ptr<PeerDialer>, std::less<>> dialers_;
  std::uint64_t next_link_id_ = 1;
  asio::steady_timer announce_timer_;
  bool announce_due_ = false;
  bool closing_ = false;
  std::function<void()> drained_;  // close_all()'s
};

}  // namespace realmd
