#include "links/peer_links.hpp"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "federation/duplicate_links.hpp"
#include "links/peer_dialer.hpp"
#include "links/peer_link.hpp"
#include "net/commit_gate.hpp"
#include "ops/logging.hpp"
#include "outcome_runner.hpp"

namespace realmd {
namespace {

using asio::ip::tcp;

// Unsent frames a link may hold: its send window of messages, as many acks for the peer's
// window, and room for fetches and pings. Past it the peer is not reading: the link drops.
std::size_t link_backlog_bytes(std::size_t link_window, std::size_t max_frame_bytes) {
  return (2 * link_window + 64) * max_frame_bytes;
}

}  // namespace

PeerLinks::PeerLinks(asio::io_context& io, const chat::config::RealmConfig& config,
                     const TlsContexts& tls, chat::core::Realm& realm, CommitGate& commits,
                     OutcomeRunner& outcomes)
    : io_(io),
      config_(config),
      tls_(tls),
      realm_(realm),
      commits_(commits),
      outcomes_(outcomes),
      tls_accept_("realm " + config.name, [this] { gone(); }),
      announce_timer_(io) {}

PeerLinks::~PeerLinks() = default;

void PeerLinks::accept(tcp::socket socket) {
  if (connections() >= config_.limits.max_connections) {
    spdlog::warn("realm {}: {} realm links open, refusing another", config_.name, links_.size());
    return;  // the socket closes here
  }
  if (!tls_.peer_listener) {
    open_link(Stream(std::move(socket)), std::nullopt);
    return;
  }
  tls_accept_.accept(std::move(socket), *tls_.peer_listener,
                     [this](Stream stream) { open_link(std::move(stream), std::nullopt); });
}

std::shared_ptr<PeerLink> PeerLinks::open_link(Stream stream,
                                               std::optional<std::string> dialed_peer) {
  std::error_code ignored;
  stream.tcp().set_option(tcp::no_delay(true), ignored);  // acks are small and wanted at once
  PeerLinkServices services{
      .realm = realm_,
      .commits = commits_,
      .outcomes = outcomes_,
      .secret = config_.secret,
      .keepalive = config_.keepalive,
      .max_text_bytes = config_.limits.max_frame_bytes,
      .authenticated =
          [this](const std::shared_ptr<PeerLink>& link) { return authenticated(link); },
      .closed = [this](PeerLink& link) { closed(link); }};
  const std::uint64_t id = next_link_id_++;
  auto link = std::make_shared<PeerLink>(
      std::move(stream), id,
      Channel::Limits{.max_request_bytes = config_.limits.max_frame_bytes,
                      .max_pending_reply_bytes = link_backlog_bytes(realm_.settings().link_window,
                                                                    config_.limits.max_frame_bytes),
                      .partial_request_timeout = config_.limits.partial_request},
      std::move(services), std::move(dialed_peer));
  links_.emplace(id, link);
  link->open();
  return link;
}

// At most one link per pair of realms (docs/contract.md §2): both realms apply the same rule to the
// same two links, so they keep the same one without talking about it.
bool PeerLinks::authenticated(const std::shared_ptr<PeerLink>& link) {
  auto current = linked_.find(link->peer());
  if (current == linked_.end()) {
    linked_.emplace(link->peer(), link);
    audit().info("realm {}: link to {} up ({})", config_.name, link->peer(),
                 link->dialed() ? "dialed" : "accepted");
    return true;
  }
  const std::shared_ptr<PeerLink> existing = current->second;
  if (!chat::federation::keep_new_link(config_.name, link->peer(), existing->dialed(),
                                       link->dialed())) {
    spdlog::info("realm {}: already linked to {}: closing the new link", config_.name,
                 link->peer());
    return false;
  }
  spdlog::info("realm {}: a new link to {} replaces the existing one", config_.name, link->peer());
  current->second = link;
  existing->supersede();
  return true;
}

void PeerLinks::closed(PeerLink& link) {
  auto current = linked_.find(link.peer());
  if (current != linked_.end() && current->second.get() == &link) {
    linked_.erase(current);
    audit().info("realm {}: link to {} down", config_.name, link.peer());
  }
  if (auto dialer = dialers_.find(link.peer()); dialer != dialers_.end()) dialer->second->wake();
  links_.erase(link.id());
  gone();
}

void PeerLinks::gone() {
  if (drained_ && empty()) drained_();
}

void PeerLinks::send(const chat::core::OutgoingFrame& frame, std::uint64_t seq) {
  auto link = linked_.find(frame.peer);
  if (link == linked_.end()) {
    spdlog::debug("realm {}: no link to {}, frame dropped", config_.name, frame.peer);
    return;
  }
  link->second->send(frame.frame, seq);
}

void PeerLinks::dial(const std::string& peer) {
  if (closing_) return;
  if (config_.secret.empty()) {
    spdlog::warn("realm {}: cannot dial {} without a federation.secret", config_.name, peer);
    return;
  }
  auto& dialer = dialers_[peer];
  if (dialer && dialer->running()) return;  // already at it; it reads the address each time
  dialer = std::make_shared<PeerDialer>(
      io_, peer,
      PeerDialerServices{.realm = realm_,
                         .outcomes = outcomes_,
                         .linked = [this](std::string_view name) { return linked(name); },
                         .open_link =
                             [this](Stream stream, const std::string& name) {
                               return open_link(std::move(stream), name);
                             },
                         .tls = tls_.peer_dialer.get()});
  dialer->start();
}

void PeerLinks::announce_soon() {
  if (announce_due_ || closing_) return;
  announce_due_ = true;
  announce_timer_.expires_after(realm_.settings().route_interval);
  announce_timer_.async_wait([this](std::error_code ec) {
    announce_due_ = false;
    if (ec || closing_) return;
    chat::core::Outcome outcome = realm_.announce_routes();
    outcomes_.run(outcome);
  });
}

void PeerLinks::pinned(const std::string& realm, std::uint64_t seq) {
  commits_.when_committed(seq, [name = config_.name, realm] {
    spdlog::info("realm {}: pinned the signing key of realm {} (stored)", name, realm);
  });
}

void PeerLinks::close_all(std::function<void()> drained) {
  closing_ = true;
  announce_timer_.cancel();
  tls_accept_.close_all();
  for (auto& [peer, dialer] : dialers_) dialer->stop();
  dialers_.clear();
  std::vector<std::shared_ptr<PeerLink>> open;
  for (auto& [id, link] : links_) open.push_back(link);
  for (auto& link : open) link->finish(CloseReason::server_stopping);
  drained_ = std::move(drained);  // after the loop: not called from within this call
}

void PeerLinks::close_now() {
  std::vector<std::shared_ptr<PeerLink>> open;
  for (auto& [id, link] : links_) open.push_back(link);
  for (auto& link : open) link->close(CloseReason::server_stopping);
}

}  // namespace realmd
