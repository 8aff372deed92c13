#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/realm.hpp"
#include "federation/handshake.hpp"
#include "frames/link_frames.hpp"
#include "net/channel.hpp"

namespace realmd {

class OutcomeRunner;
class PeerLink;

// What every link of a realm shares; all of it outlives the links.
struct PeerLinkServices {
  chat::core::Realm& realm;
  CommitGate& commits;  // frames leave once what they acknowledge is committed
  OutcomeRunner& outcomes;
  std::string secret;                   // federation.secret: only the handshake sees it
  std::chrono::milliseconds keepalive;  // ping after this much silence on our side
  std::size_t max_text_bytes = 0;       // longest message text a frame may carry
  // The handshake succeeded: the server applies the one-link-per-pair rule. False: another
  // link to that realm wins and this one is closed.
  std::function<bool(const std::shared_ptr<PeerLink>& link)> authenticated;
  // The link closed (called once): the server forgets it and wakes the peer's dialer.
  std::function<void(PeerLink& link)> closed;
};

// One realm-to-realm link, dialled or accepted (docs/contract.md §2). First the handshake
// (federation::Handshake); then, once authenticated and kept by the server, it turns each
// frame line into a frames::PeerFrame for the realm and carries out what comes back, answers
// pings, and sends the frames the realm addresses to this peer. Keepalive: a ping after
// `keepalive` without sending, a drop after three times that without receiving.
class PeerLink final : public Channel {
 public:
  // How far the link got; it only moves forward, and stays where it was once the link
  // closed (the Channel's phase() says whether it is open).
  enum class LinkPhase {
    handshaking,    // hellos and proofs: lines are handshake frames
    authenticated,  // the handshake succeeded; the server keeps the link, or refused it
    linked,         // kept by the server: the realm's link to peer(); lines are link frames
    superseded,     // another link to the same realm won: it closes without a link down
  };

  // How long a connection may take to authenticate.
  static constexpr std::chrono::seconds handshake_timeout{10};

  // `dialed_peer`: the realm we dialed (its hello must name it); empty for an accepted link.
  PeerLink(Stream stream, std::uint64_t id, Limits limits, PeerLinkServices services,
           std::optional<std::string> dialed_peer);

  // Sends our hello and starts the handshake timer (instead of Channel::start).
  void open();
  // Sends a frame once commit `seq` is done, behind every frame queued before it.
  void send(const chat::frames::PeerFrame& frame, std::uint64_t seq);
  // Another link to the same realm won: close this one without reporting the realm's link
  // down (the winner is the realm's link now).
  void supersede();

  std::uint64_t id() const { return id_; }
  bool dialed() const { return dialed_peer_.has_value(); }
  // The peer's realm name once its hello was accepted (for a dialed link: the one we dialed).
  const std::string& peer() const { return peer_; }
  LinkPhase link_phase() const { return link_phase_; }
  // Whether the handshake succeeded at some point (the link may have closed since).
  bool was_authenticated() const { return link_phase_ != LinkPhase::handshaking; }
  // Why the link failed or ended, for `realms`' last_error; empty while open.
  const std::string& failure() const { return failure_; }
  // Whether on_closed ran: the server has forgotten the link.
  bool released() const { return released_; }

 private:
  asio::awaitable<void> on_request(std::string_view line) override;
  void on_request_too_long() override;
  void on_written(const std::vector<std::uint64_t>&) override {}
  void on_lost(const std::vector<std::uint64_t>&) override {}
  void on_closed(CloseReason reason) override;

  void handshake_step(const chat::frames::Frame& frame);
  void linked_frame(const chat::frames::Frame& frame);
  void send_line(std::string line, std::uint64_t seq);
  // Logs a warning naming the remote address and the reason, then closes.
  void fail(CloseReason reason, const std::string& detail);
  // Handshake deadline, then keepalive: one timer for both phases.
  asio::awaitable<void> watch();

  std::uint64_t id_;
  PeerLinkServices services_;
  std::optional<std::string> dialed_peer_;
  std::string remote_;  // "127.0.0.1:40102", for the logs
  chat::federation::Handshake handshake_;
  std::string peer_;
  LinkPhase link_phase_ = LinkPhase::handshaking;
  bool released_ = false;  // on_closed ran (after the Channel closed)
  std::string failure_;
  std::chrono::steady_clock::time_point opened_at_;
  std::chrono::steady_clock::time_point last_sent_;
  std::chrono::steady_clock::time_point last_received_;
  asio::steady_timer timer_;
};

}  // namespace realmd
