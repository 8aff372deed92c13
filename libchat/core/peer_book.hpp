#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/peer_state.hpp"
#include "core/routing_state.hpp"
#include "core/state_maps.hpp"

// The peer book (federation): the peers and their outboxes, what this realm remembers of each
// origin to take every message once, the routes and routed envelopes, and the client replies
// that wait for a peer.
namespace chat::core {

// What this realm remembers of one (origin realm, epoch) to take each message exactly once.
struct EpochDedup {
  std::uint64_t seen = 0;     // highest origin id handled: the durable dedup mark
  std::uint64_t touched = 0;  // this realm's last id when the mark last moved (age order)
  // Ids this realm refused, with the error given (newest ones only; see Realm::peer_frame):
  // a retransmission of one is refused again.
  std::map<std::uint64_t, std::string> refused;
};

// Epochs of one origin kept at most; the least recently used goes first. A realm changes
// epoch at every start, and sends an old epoch's messages only while they wait in its outbox,
// which it replays first on every link: an epoch still in use is always among the newest.
inline constexpr std::size_t max_epochs_per_origin = 64;

class PeerBook {
 public:
  // --- peers, outbox and dedup ---
  Peer* find_peer(std::string_view name) { return find_value(peers_, name); }
  const Peer* find_peer(std::string_view name) const { return find_value(peers_, name); }
  Peer& add_peer(std::string name);
  std::vector<const Peer*> peers() const;  // by name
  // The dedup state of (origin, epoch), made empty on first use.
  EpochDedup& dedup(std::string_view origin, std::uint64_t epoch);
  // Every epoch of `origin` this realm keeps dedup state for.
  std::map<std::uint64_t, EpochDedup>& dedup_of(std::string_view origin);
  std::size_t epochs_kept(std::string_view origin) const;

  // --- routing: the route table and the envelopes in this realm's custody ---
  Routing& routing() { return routing_; }
  const Routing& routing() const { return routing_; }

  // --- replies waiting for a peer ---
  std::uint64_t add_waiter(Waiter waiter);
  std::optional<Waiter> take_waiter(std::uint64_t id);  // removes it
  const Waiter* find_waiter(std::uint64_t id) const { return find_value(waiters_, id); }
  // The waiter (if any) for an ack of outbox id `id`.
  std::optional<std::uint64_t> ack_waiter(std::uint64_t id) const;
  std::uint64_t next_rid() { return ++last_rid_; }
  // Waiters of one peer and kind, e.g. to complete them all when the link drops.
  std::vector<std::uint64_t> waiters_of(std::string_view peer, Waiter::Kind kind) const;

 private:
  StringMap<Peer> peers_;
  Routing routing_;
  StringMap<std::map<std::uint64_t, EpochDedup>> dedup_;  // origin -> epoch -> state
  std::map<std::uint64_t, Waiter> waiters_;  // by waiter id (few: one per waiting reply)
  std::unordered_map<std::uint64_t, std::uint64_t> ack_waiters_;  // outbox id -> waiter id
  std::uint64_t last_waiter_ = 0;
  std::uint64_t last_rid_ = 0;
};

}  // namespace chat::core
