#include "core/realm_state.hpp"

// The functions of core/peer_state.hpp.
namespace chat::core {

void pump_outbox(Peer& peer, std::size_t window, std::vector<OutgoingFrame>& frames,
                 std::vector<std::uint64_t>& too_long) {
  if (peer.link != LinkState::linked) return;
  for (auto it = peer.outbox.upper_bound(peer.sent_up_to);
       it != peer.outbox.end() && peer.in_flight < window; ++it) {
    const store::OutboxRecord& entry = it->second;
    if (peer.max_text != 0 && entry.text.size() > peer.max_text) {
      too_long.push_back(entry.id);
      return;
    }
    frames.push_back({peer.name, frames::Msg{entry.id, entry.epoch, outbox_kind(entry),
                                             entry.sender, entry.target, entry.text, entry.time}});
    peer.sent_up_to = entry.id;
    ++peer.in_flight;
  }
}

const char* link_state_name(LinkState state) {
  switch (state) {
    case LinkState::idle:
      return "idle";
    case LinkState::connecting:
      return "connecting";
    case LinkState::down:
      return "down";
    case LinkState::linked:
      return "linked";
  }
  return "idle";
}

}  // namespace chat::core
