// The realm's side of its links to peer realms (docs/contract.md §1.6, §2): what an incoming frame
// or a link going up or down changes, and what goes back. Exactly once rests on two rules:
// the sender keeps a message in its durable outbox until the ack, and the receiver stores a
// message together with its dedup mark before the ack leaves (Outcome's frames wait for
// the commit of its mutations).
#include <algorithm>
#include <map>

#include "core/commands/common.hpp"
#include "core/delivery.hpp"
#include "core/history.hpp"
#include "core/realm.hpp"
#include "core/realm_state.hpp"
#include "core/routing.hpp"
#include "protocol/messages.hpp"
#include "protocol/names.hpp"
#include "protocol/reply.hpp"

namespace chat::core {

namespace text = protocol::text;

namespace {

// Refusals kept per origin realm. A retransmitted id is one of the last `link_window` messages
// this realm handled from that origin (a sender has at most that many unacked per link, acks
// arrive in order, and its replay starts from its oldest unacked), so the newest
// `link_window` refusals already answer every retransmission. The window is the sender's
// setting, not ours: 4x keeps a margin for a peer built with a larger one, and is still at
// most a few hundred KiB per origin, in memory and on disk.
std::size_t refusals_kept(std::size_t link_window) {
  return 4 * link_window;
}

// The ack of message `id`: ok when `error` is empty, else refused with it.
frames::Ack ack_of(std::uint64_t id, std::string error) {
  if (error.empty()) return frames::Ack{.id = id, .ok = true, .error = std::nullopt};
  return frames::Ack{.id = id, .ok = false, .error = std::move(error)};
}

}  // namespace

std::string realm_send_reply(bool ok, const std::string& error, bool group) {
  if (ok) {
    return protocol::reply::ok_message(group ? text::sent_to_realm_group
                                             : text::sent_to_realm_user);
  }
  if (error == text::user_not_found) return protocol::reply::error(text::realm_user_not_found);
  if (error == text::group_not_found) return protocol::reply::error(text::realm_group_not_found);
  return protocol::reply::error(
      error.empty() ? (group ? text::realm_group_not_found : text::realm_user_not_found)
                    : std::string_view(error));
}

std::vector<std::string> Realm::peers_to_dial() const {
  std::vector<std::string> names;
  for (const Peer* peer : state_->peers()) {
    if (peer->dials()) names.push_back(peer->name);
  }
  return names;
}

std::optional<Realm::PeerAddress> Realm::dial_address(std::string_view name,
                                                      std::size_t turn) const {
  const Peer* peer = state_->find_peer(name);
  if (peer == nullptr || !peer->dials()) return std::nullopt;
  const std::size_t index = turn % (1 + peer->alternates.size());
  if (index == 0) return PeerAddress{peer->host, peer->port};
  const auto& [host, port] = peer->alternates[index - 1];
  return PeerAddress{host, port};
}

std::size_t Realm::dial_addresses(std::string_view name) const {
  const Peer* peer = state_->find_peer(name);
  return peer == nullptr || !peer->dials() ? 0 : 1 + peer->alternates.size();
}

bool Realm::accepts_link_from(std::string_view realm) const {
  return protocol::is_valid_name(realm) && realm != settings_.name;
}

Outcome Realm::link_up(std::string_view name, std::uint64_t max_text) {
  Outcome out;
  Peer* peer = state_->find_peer(name);
  if (peer == nullptr) peer = &state_->add_peer(std::string(name));  // learnt from its handshake
  if (!peer->active) {
    peer->active = true;
    out.mutations.emplace_back(store::PutPeer{{peer->name, peer->host, peer->port}});
  }
  peer->link = LinkState::linked;
  peer->last_error.clear();
  // Everything not yet acked goes again, oldest first (through the window): the receiver's
  // dedup mark drops what it already stored.
  peer->sent_up_to = 0;
  peer->in_flight = 0;
  peer->max_text = max_text;
  pump(*peer, out);
  state_->routing().table.link_up(peer->name);
  out.announce_routes = true;  // the new neighbour needs our routes, whatever changed
  routes_changed(out);
  for (std::uint64_t waiter : state_->waiters_of(name, Waiter::Kind::link)) {
    state_->take_waiter(waiter);
    out.completions.push_back({waiter, protocol::reply::ok_realm_added("connected"), {}});
  }
  return out;
}

Outcome Realm::link_down(std::string_view name, std::string_view reason) {
  Outcome out;
  Peer* peer = state_->find_peer(name);
  if (peer == nullptr) return out;
  peer->link = peer->dials() ? LinkState::connecting : LinkState::down;
  if (!reason.empty()) peer->last_error = reason;
  peer->sent_up_to = 0;
  peer->in_flight = 0;
  // Envelopes in flight to it go again, by whatever path is best now: the destination drops
  // a second copy (per origin, epoch and seq).
  Routing& routing = state_->routing();
  routing.table.link_down(peer->name);
  for (auto& [id, entry] : routing.entries) {
    if (entry.sent_to != peer->name) continue;
    entry.sent_to.clear();
    routing.unsent.insert(id);
  }
  routing.in_flight.erase(peer->name);
  routes_changed(out);
  // Sends waiting for an ack stay in the outbox: their senders hear "queued".
  for (std::uint64_t waiter : state_->waiters_of(name, Waiter::Kind::ack)) {
    state_->take_waiter(waiter);
    out.completions.push_back({waiter, protocol::reply::ok_queued(), {}});
  }
  commands::answer_realm_inboxes(*state_, settings_, name, std::nullopt, false, out);
  return out;
}

Outcome Realm::peer_frame(std::string_view name, const frames::PeerFrame& frame) {
  Outcome out;
  Peer* peer = state_->find_peer(name);
  if (peer == nullptr) return out;  // links register their peer in link_up first
  // One handler per frame type, as for client commands.
  std::visit([&](const auto& f) { on_peer_frame(*peer, f, out); }, frame);
  return out;
}

void Realm::on_peer_frame(Peer& peer, const frames::Msg& message, Outcome& out) {
  EpochDedup& dedup = remember_epoch(peer.name, message.epoch, out);
  if (message.id <= dedup.seen) {
    // A retransmission: answered as the first time (a refusal again, not an ok for a message
    // that was never stored), and not stored again.
    auto refusal = dedup.refused.find(message.id);
    std::string error = refusal != dedup.refused.end() ? refusal->second : std::string();
    out.frames.push_back({peer.name, ack_of(message.id, std::move(error))});
    return;
  }
  std::string error = take_message(peer.name, message.kind, message.to, message.from, message.text,
                                   message.time, out);
  if (!error.empty()) {
    dedup.refused.emplace(message.id, error);
    out.mutations.emplace_back(store::PutRefused{{peer.name, message.epoch, message.id, error}});
    if (dedup.refused.size() > refusals_kept(settings_.link_window)) {
      // One over the bound: the oldest goes (ids only grow, so it is the first).
      out.mutations.emplace_back(
          store::DeleteRefused{peer.name, message.epoch, dedup.refused.begin()->first});
      dedup.refused.erase(dedup.refused.begin());
    }
  }
  dedup.seen = message.id;
  dedup.touched = state_->last_id();  // only grows, across restarts too: an age order
  out.mutations.emplace_back(store::PutSeen{{peer.name, message.epoch, message.id, dedup.touched}});
  out.frames.push_back({peer.name, ack_of(message.id, error)});
}

std::string Realm::take_message(const std::string& origin, frames::MessageKind kind,
                                const std::string& to, const std::string& from,
                                const std::string& text, const std::string& time, Outcome& out) {
  if (text.size() > settings_.limits.max_message_bytes) {
    return std::string(text::message_too_long);  // the sender bounces it: it never blocks a link
  }
  if (kind == frames::MessageKind::group) {
    const Group* group = state_->find_group(to);
    if (group == nullptr) return std::string(text::group_not_found);
    // Membership is the owning realm's: every member of the group here gets it, and its
    // history has it once.
    store_group_message(*state_, make_message_record(0, {}, from, origin, to, text, time),
                        group->members, {}, out);
  } else {
    if (state_->find_user(to) == nullptr) return std::string(text::user_not_found);
    store_private_message(*state_,
                          make_message_record(state_->next_id(), to, from, origin, {}, text, time),
                          realm_conversation(origin, from, to), out);
  }
  return {};
}

// The dedup state of (origin, epoch); making room for a new epoch forgets the least recently
// used one of that origin (see max_epochs_per_origin).
EpochDedup& Realm::remember_epoch(const std::string& origin, std::uint64_t epoch, Outcome& out) {
  std::map<std::uint64_t, EpochDedup>& epochs = state_->dedup_of(origin);
  if (!epochs.contains(epoch) && epochs.size() >= max_epochs_per_origin) {
    auto oldest = std::min_element(epochs.begin(), epochs.end(), [](const auto& a, const auto& b) {
      return a.second.touched < b.second.touched;
    });
    out.mutations.emplace_back(store::DeleteSeen{origin, oldest->first});
    epochs.erase(oldest);
  }
  return epochs[epoch];
}

void Realm::on_peer_frame(Peer& peer, const frames::Ack& ack, Outcome& out) {
  auto entry = peer.outbox.find(ack.id);
  if (entry == peer.outbox.end()) return;  // a repeated ack
  if (ack.id <= peer.sent_up_to && peer.in_flight > 0) --peer.in_flight;
  settle(peer, entry, ack.ok, ack.error.value_or(""), out);
  pump(peer, out);
}

// The outbox entry's fate is known: the destination took it (ok) or refused it. The waiting
// sender hears it; a sender that already heard "queued" gets a refusal as a bounce.
void Realm::settle(Peer& peer, std::map<std::uint64_t, store::OutboxRecord>::iterator entry,
                   bool ok, const std::string& error, Outcome& out) {
  store::OutboxRecord sent = std::move(entry->second);
  peer.outbox.erase(entry);
  out.mutations.emplace_back(store::DeleteOutbox{peer.name, sent.id});
  const bool group = outbox_kind(sent) == frames::MessageKind::group;
  if (ok && !group) {
    // The sender's copy joins their history once delivered, under a new id: history ids are
    // handed out in the order messages are stored (store::IndexHistory relies on it).
    record_history(*state_,
                   {state_->next_id(),
                    realm_conversation(peer.name, sent.target, sent.sender),
                    sent.sender,
                    settings_.name,
                    sent.target,
                    {},
                    sent.text,
                    sent.time,
                    false},
                   out);
  }
  if (auto waiter = state_->ack_waiter(sent.id)) {
    state_->take_waiter(*waiter);
    out.completions.push_back({*waiter, realm_send_reply(ok, error, group), {}});
  } else if (!ok) {
    store_bounce(*state_, sent.sender, peer.name, sent.target, error, env_.now_utc(), out);
  }
}

// Sends what the window allows. An entry longer than the peer takes (its hello said how
// long) is refused here, as the peer would: a frame it could not read would end the link at
// every redial and hold up every message behind it.
void Realm::pump(Peer& peer, Outcome& out) {
  for (;;) {
    std::vector<std::uint64_t> too_long;
    pump_outbox(peer, settings_.link_window, out.frames, too_long);
    if (too_long.empty()) return;
    for (std::uint64_t id : too_long) {
      auto entry = peer.outbox.find(id);
      if (entry != peer.outbox.end()) {
        settle(peer, entry, false, std::string(text::message_too_long), out);
      }
    }
  }
}

void Realm::on_peer_frame(Peer& peer, const frames::Fetch& fetch, Outcome& out) {
  // Everything this realm still holds for the peer is already on the link (sent at send
  // time or replayed at link-up, in order), so "fetched" after it closes the round trip.
  out.frames.push_back({peer.name, frames::Fetched{fetch.rid}});
}

void Realm::on_peer_frame(Peer& peer, const frames::Fetched& fetched, Outcome& out) {
  // Only the waiter of this rid: a late "fetched" (its waiter timed out) answers nobody.
  commands::answer_realm_inboxes(*state_, settings_, peer.name, fetched.rid, true, out);
}

Outcome Realm::wait_timed_out(std::uint64_t id) {
  Outcome out;
  std::optional<Waiter> waiter = state_->take_waiter(id);
  if (!waiter) return out;  // completed already
  switch (waiter->kind) {
    case Waiter::Kind::ack:
      out.completions.push_back({id, protocol::reply::ok_queued(), {}});
      break;
    case Waiter::Kind::fetch: {
      Completion done =
          commands::realm_inbox(*state_, settings_, waiter->user, waiter->peer, false);
      done.waiter = id;
      out.completions.push_back(std::move(done));
      break;
    }
    case Waiter::Kind::link: {
      const Peer* peer = state_->find_peer(waiter->peer);
      std::string_view state = peer != nullptr ? link_state_name(peer->link) : "connecting";
      out.completions.push_back({id, protocol::reply::ok_realm_added(state), {}});
      break;
    }
  }
  return out;
}

}  // namespace chat::core
