#include "core/peer_book.hpp"

#include <algorithm>

namespace chat::core {

Peer& PeerBook::add_peer(std::string name) {
  auto [it, added] = peers_.try_emplace(name);
  if (added) it->second.name = std::move(name);
  return it->second;
}

std::vector<const Peer*> PeerBook::peers() const {
  std::vector<const Peer*> out;
  out.reserve(peers_.size());
  for (const auto& [name, peer] : peers_) out.push_back(&peer);
  std::sort(out.begin(), out.end(), [](const Peer* a, const Peer* b) { return a->name < b->name; });
  return out;
}

EpochDedup& PeerBook::dedup(std::string_view origin, std::uint64_t epoch) {
  return dedup_of(origin)[epoch];
}

std::map<std::uint64_t, EpochDedup>& PeerBook::dedup_of(std::string_view origin) {
  auto it = dedup_.find(origin);
  if (it == dedup_.end()) it = dedup_.try_emplace(std::string(origin)).first;
  return it->second;
}

std::size_t PeerBook::epochs_kept(std::string_view origin) const {
  auto it = dedup_.find(origin);
  return it == dedup_.end() ? 0 : it->second.size();
}

std::uint64_t PeerBook::add_waiter(Waiter waiter) {
  std::uint64_t id = ++last_waiter_;
  if (waiter.kind == Waiter::Kind::ack) ack_waiters_[waiter.key] = id;
  waiters_.emplace(id, std::move(waiter));
  return id;
}

std::optional<Waiter> PeerBook::take_waiter(std::uint64_t id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return std::nullopt;
  Waiter waiter = std::move(it->second);
  waiters_.erase(it);
  if (waiter.kind == Waiter::Kind::ack) ack_waiters_.erase(waiter.key);
  return waiter;
}

std::optional<std::uint64_t> PeerBook::ack_waiter(std::uint64_t id) const {
  auto it = ack_waiters_.find(id);
  if (it == ack_waiters_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::uint64_t> PeerBook::waiters_of(std::string_view peer, Waiter::Kind kind) const {
  std::vector<std::uint64_t> out;
  for (const auto& [id, waiter] : waiters_) {
    if (waiter.kind == kind && waiter.peer == peer) out.push_back(id);
  }
  return out;
}

}  // namespace chat::core
