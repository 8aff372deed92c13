#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/outcome.hpp"
#include "store/records.hpp"

// What this realm knows of each peer realm: address, link state and the durable outbox of
// messages waiting for the peer's ack. Plain data, owned by RealmState.
namespace chat::core {

// idle: known from the config but not linked to (autoconnect: false, no addrealm yet);
// connecting: being dialled (or redialled after a drop); down: a peer that dials us and is
// not connected now; linked: authenticated link up.
enum class LinkState { idle, connecting, down, linked };

const char* link_state_name(LinkState state);

// An outbox entry's kind, stored as its wire name ("private", "group"; "answer" for a routed one).
inline frames::MessageKind outbox_kind(const store::OutboxRecord& entry) {
  return frames::kind_named(entry.kind).value_or(frames::MessageKind::user);
}

struct Peer {
  std::string name;
  std::string host;
  std::uint16_t port = 0;  // 0: we do not dial it (it dialled us first: learnt from a handshake)
  // More addresses from the config (the peer's standbys), tried after host:port in turn.
  std::vector<std::pair<std::string, std::uint16_t>> alternates;
  bool configured = false;  // listed in the config
  bool active = false;      // a peer now: commands reach it, links to it are kept
  LinkState link = LinkState::idle;
  std::string last_error;
  std::map<std::uint64_t, store::OutboxRecord> outbox;  // not yet acked, by origin id
  // The send window on the current link: entries up to `sent_up_to` went out, `in_flight` of
  // them are not acked yet. Both reset when the link drops (the next link replays).
  std::uint64_t sent_up_to = 0;
  std::size_t in_flight = 0;
  // The longest message text the peer takes, from its hello on the current link (0: unknown).
  std::uint64_t max_text = 0;

  bool dials() const { return active && port != 0; }
};

// Sends the outbox entries after `sent_up_to`, oldest first, while the window has room.
// Keeps the order: an entry never goes out before an older one of the same peer. An entry
// longer than the peer's max_text is not sent: its id goes to `too_long` (the caller refuses
// it) and the pump stops there, so that the order holds.
void pump_outbox(Peer& peer, std::size_t window, std::vector<OutgoingFrame>& frames,
                 std::vector<std::uint64_t>& too_long);

// A client reply waiting for a peer (see Outcome's Wait).
struct Waiter {
  enum class Kind { ack, fetch, link };
  Kind kind = Kind::ack;
  std::string peer;
  std::string user;       // fetch: whose realm inbox to answer with
  std::uint64_t key = 0;  // ack: outbox id; fetch: rid
  bool group = false;     // ack: a sendgrouprealm (chooses the reply strings)
};

}  // namespace chat::core
