// Routing between realms that are not linked (docs/protocol.md §2, routing). Exactly once
// end to end rests on three rules: every hop stores an envelope before it acks it to the
// previous hop and keeps it until the next hop acks (custody passes, it is never dropped);
// a hop whose link drops sends what was in flight again by the best path then (so a copy may
// travel two paths); and the destination takes each (origin, epoch, seq) once, in any order.
#include <algorithm>
#include <string>
#include <vector>

#include "core/commands/common.hpp"
#include "core/delivery.hpp"
#include "core/history.hpp"
#include "core/realm.hpp"
#include "core/realm_state.hpp"
#include "core/routing.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"

namespace chat::core {

namespace text = protocol::text;

namespace {

bool is_answer(const frames::Fwd& envelope) {
  return envelope.kind == frames::MessageKind::answer;
}

// The dedup key of routed envelopes from `origin`: apart from its direct messages (whose
// marks are per link and in order), and never a realm name ('~' is not a name character).
std::string routed_key(const std::string& origin) {
  return "~" + origin;
}

// Envelopes this realm holds for others whose best next hop is `hop`.
std::size_t relayed_via(const Routing& routing, const std::string& hop) {
  std::size_t held = 0;
  for (const auto& [destination, count] : routing.queued_for) {
    auto best = routing.last_best.find(destination);
    if (best != routing.last_best.end() && best->second.next_hop == hop) held += count;
  }
  return held;
}

}  // namespace

// Whether this realm holds as many envelopes of others as it takes for the next hop toward
// `destination` (or, with no path up, for that destination).
bool Realm::relay_queue_full(const std::string& destination) {
  const Routing& routing = state_->routing();
  if (Peer* hop = next_hop(*state_, destination)) {
    return relayed_via(routing, hop->name) >= settings_.max_relay_queue;
  }
  auto held = routing.queued_for.find(destination);
  return held != routing.queued_for.end() && held->second >= settings_.max_relay_queue;
}

namespace {

// Sequence numbers above a destination's floor it remembers at most: past that it gives up
// the oldest gap (an envelope refused on the way, which its origin bounced) and moves on.
constexpr std::size_t max_out_of_order = 4096;

// This realm's (`self`'s) answer to `envelope`: its error ("" for ok), about the realm the
// message was for. No seq yet: it gets one when it leaves this realm (hold_answer).
frames::Fwd answer_to(const frames::Fwd& envelope, std::string_view error, std::string about,
                      const std::string& self, const Environment& env) {
  frames::Fwd answer;
  answer.origin = self;
  answer.dest = envelope.origin;
  answer.epoch = env.epoch;
  answer.kind = frames::MessageKind::answer;
  answer.from = envelope.to;
  answer.to = envelope.from;
  answer.text = std::string(error);
  answer.time = env.now_utc();
  answer.oid = envelope.oid;
  answer.re_epoch = envelope.epoch;
  answer.about = std::move(about);
  return answer;
}

// Puts an answer in this realm's custody, next in sequence toward its destination, signed.
void hold_answer(RealmState& state, const Environment& env, frames::Fwd answer, Outcome& out) {
  answer.seq = ++state.routing().last_seq[answer.dest];
  sign_envelope(answer, env);
  hold_envelope(state, std::move(answer), out);
}

}  // namespace

void sign_envelope(frames::Fwd& envelope, const Environment& env) {
  if (env.sign) envelope.sig = env.sign(signed_bytes(envelope));
}

std::uint64_t hold_envelope(RealmState& state, frames::Fwd envelope, Outcome& out) {
  envelope.id = state.next_id();
  if (envelope.oid == 0) envelope.oid = envelope.id;  // made here: our id names it end to end
  Routing& routing = state.routing();
  out.mutations.emplace_back(store::PutOutbox{to_outbox_record(envelope)});
  ++routing.queued_for[envelope.dest];
  routing.known.insert(envelope.dest);
  const std::uint64_t id = envelope.id;
  routing.entries.emplace(id, RoutedEntry{std::move(envelope), {}});
  routing.unsent.insert(id);
  return id;
}

Peer* next_hop(RealmState& state, std::string_view destination) {
  const Routing& routing = state.routing();
  auto best = routing.last_best.find(std::string(destination));
  if (best == routing.last_best.end()) return nullptr;
  Peer* peer = state.find_peer(best->second.next_hop);
  return peer != nullptr && peer->link == LinkState::linked ? peer : nullptr;
}

void pump_envelopes(RealmState& state, const RealmSettings& settings, Outcome& out,
                    std::vector<frames::Fwd>& too_long) {
  Routing& routing = state.routing();
  for (auto it = routing.unsent.begin(); it != routing.unsent.end();) {
    const auto held = routing.entries.find(*it);
    if (held == routing.entries.end()) {  // not held any more (kept in step; never expected)
      it = routing.unsent.erase(it);
      continue;
    }
    RoutedEntry& entry = held->second;
    Peer* hop = next_hop(state, entry.envelope.dest);
    if (hop == nullptr || routing.in_flight[hop->name] >= settings.link_window) {
      ++it;
      continue;
    }
    if (hop->max_text != 0 && entry.envelope.text.size() > hop->max_text) {
      out.mutations.emplace_back(store::DeleteOutbox{entry.envelope.dest, entry.envelope.id});
      --routing.queued_for[entry.envelope.dest];
      too_long.push_back(std::move(entry.envelope));
      routing.entries.erase(held);
      it = routing.unsent.erase(it);
      continue;
    }
    ++routing.in_flight[hop->name];
    entry.sent_to = hop->name;
    out.frames.push_back({hop->name, entry.envelope});
    it = routing.unsent.erase(it);
  }
}

void Realm::routes_changed(Outcome& out) {
  Routing& routing = state_->routing();
  std::map<std::string, BestRoute> best = routing.table.all_best();
  for (const auto& [destination, route] : best) routing.known.insert(destination);
  if (best != routing.last_best) {
    routing.last_best = std::move(best);
    out.announce_routes = true;
  }
  std::vector<frames::Fwd> too_long;
  pump_envelopes(*state_, settings_, out, too_long);
  for (const frames::Fwd& envelope : too_long)
    refuse_envelope(envelope, text::message_too_long, out);
}

Outcome Realm::announce_routes() {
  Outcome out;
  for (const Peer* peer : state_->peers()) {
    if (peer->link != LinkState::linked) continue;
    const Routing& routing = state_->routing();
    Announcement announcement = routing.table.announcement_for(peer->name);
    // The keys pinned here for every realm announced (ours first): how a destination learns
    // the key of an origin it has no link to.
    for (const RoutePath& route : announcement.routes) {
      auto key = routing.keys.find(route.back());
      if (key != routing.keys.end()) announcement.keys.emplace(key->first, key->second);
    }
    out.frames.push_back({peer->name, std::move(announcement)});
  }
  return out;
}

void Realm::on_peer_frame(Peer& peer, const frames::Route& announcement, Outcome& out) {
  learn_keys(peer, announcement, out);
  release_awaiting_key(out);
  RouteTable& table = state_->routing().table;
  const bool announced_on = table.announced_on(peer.name);
  table.announced(peer.name, announcement);
  // Whether the neighbour may be passed on changes what we announce, not our best paths.
  if (table.announced_on(peer.name) != announced_on) out.announce_routes = true;
  routes_changed(out);
}

// Keys are pinned the first time they are seen, never replaced: a neighbour's own key over
// its authenticated link, the keys of realms further away from the first announcement that
// names them (docs/protocol.md §2, trust). Only keys of realms the announcement routes to.
void Realm::learn_keys(const Peer& peer, const frames::Route& announcement, Outcome& out) {
  Routing& routing = state_->routing();
  for (const RoutePath& route : announcement.routes) {
    const std::string& realm = route.back();
    auto key = announcement.keys.find(realm);
    if (key == announcement.keys.end() || realm == settings_.name) continue;
    auto [pinned, added] = routing.keys.try_emplace(realm, key->second);
    if (added) {
      // Committed with what the announcement changes, so that nothing done because of the key
      // is acknowledged before the pin is durable.
      out.mutations.push_back(store::PutPin{{realm, key->second}});
    } else if (pinned->second != key->second) {
      out.audit.push_back("route announcement from realm " + peer.name +
                          " carries another signing key for realm " + realm +
                          ": kept the pinned one");
    }
  }
}

// Whether the envelope carries its origin's signature over what the origin wrote, by the key
// pinned for the origin. Always true when this realm does not verify (no verify function).
bool Realm::authentic(const frames::Fwd& envelope) const {
  if (!env_.verify) return true;
  const auto& keys = state_->routing().keys;
  auto key = keys.find(envelope.origin);
  return key != keys.end() && !envelope.sig.empty() &&
         env_.verify(key->second, signed_bytes(envelope), envelope.sig);
}

// Whether an envelope from `origin` can be verified here now (always, when this realm does not
// verify).
bool Realm::knows_key_of(const std::string& origin) const {
  return !env_.verify || state_->routing().keys.contains(origin);
}

// An envelope for this realm, its origin's key known: taken if its signature holds.
// `came` says how, for the audit line: "via beta", or "held for its key".
void Realm::take_signed(const frames::Fwd& envelope, std::string_view came, Outcome& out) {
  if (authentic(envelope)) return take_envelope(envelope, out);
  // Altered or forged on the way (or signed by another key than the pinned one): not taken,
  // and its seq not marked, so the genuine copy may still come another way.
  out.audit.push_back("routed " + std::string(frames::kind_name(envelope.kind)) + " from realm " +
                      envelope.origin + " (" + std::string(came) + ") refused: bad signature");
  refuse_envelope(envelope, text::bad_signature, out);
}

// An envelope for this realm from an origin whose key has not reached it yet. The origin's
// route to us and the announcement carrying its key to us travel apart, so the first can win
// (docs/protocol.md §2, trust): the envelope is kept in custody, stored like one to relay,
// until the key comes (release_awaiting_key). At most max_relay_queue wait; past that it is
// refused as one that cannot be verified.
void Realm::await_origin_key(const frames::Fwd& envelope, std::string_view via, Outcome& out) {
  Routing& routing = state_->routing();
  if (routing.awaiting_key.size() >= settings_.max_relay_queue) {
    out.audit.push_back("routed " + std::string(frames::kind_name(envelope.kind)) + " from realm " +
                        envelope.origin + " (via " + std::string(via) +
                        ") refused: no signing key for realm " + envelope.origin);
    return refuse_envelope(envelope, text::bad_signature, out);
  }
  frames::Fwd held = envelope;
  held.id = state_->next_id();
  out.mutations.emplace_back(store::PutOutbox{to_outbox_record(held)});
  routing.awaiting_key.insert(held.id);
  routing.entries.emplace(held.id, RoutedEntry{std::move(held), {}});
}

// The envelopes waiting for keys that have come: out of custody, then taken or refused.
void Realm::release_awaiting_key(Outcome& out) {
  Routing& routing = state_->routing();
  std::vector<frames::Fwd> ready;
  for (auto it = routing.awaiting_key.begin(); it != routing.awaiting_key.end();) {
    auto held = routing.entries.find(*it);
    if (held != routing.entries.end() && !routing.keys.contains(held->second.envelope.origin)) {
      ++it;
      continue;
    }
    if (held != routing.entries.end()) {
      out.mutations.emplace_back(store::DeleteOutbox{settings_.name, held->first});
      ready.push_back(std::move(held->second.envelope));
      routing.entries.erase(held);
    }
    it = routing.awaiting_key.erase(it);
  }
  for (const frames::Fwd& envelope : ready) take_signed(envelope, "held for its key", out);
}

void Realm::on_peer_frame(Peer& peer, const frames::Fwd& envelope, Outcome& out) {
  if (envelope.dest == settings_.name && !knows_key_of(envelope.origin)) {
    await_origin_key(envelope, peer.name, out);
  } else if (envelope.dest == settings_.name) {
    take_signed(envelope, "via " + peer.name, out);
  } else if (!is_answer(envelope) && !settings_.relay) {
    refuse_envelope(envelope, text::realm_not_found, out);  // we announced no such path
  } else if (envelope.hops + 1 >= max_route_path) {
    if (!is_answer(envelope)) refuse_envelope(envelope, text::realm_not_found, out);
  } else if (!is_answer(envelope) && relay_queue_full(envelope.dest)) {
    refuse_envelope(envelope, text::outbox_full, out);
  } else {
    frames::Fwd relayed = envelope;
    ++relayed.hops;
    hold_envelope(*state_, std::move(relayed), out);
    routes_changed(out);  // sends it on if its path is up
  }
  // Custody taken (stored, refused back or taken): the previous hop may forget it. The ack
  // leaves after the commit of what this Outcome stored.
  out.frames.push_back({peer.name, frames::Fack{envelope.id}});
}

void Realm::on_peer_frame(Peer& peer, const frames::Fack& ack, Outcome& out) {
  Routing& routing = state_->routing();
  auto entry = routing.entries.find(ack.id);
  if (entry == routing.entries.end() || entry->second.sent_to != peer.name) return;  // repeated
  std::size_t& flying = routing.in_flight[peer.name];
  if (flying > 0) --flying;
  const std::string& destination = entry->second.envelope.dest;
  out.mutations.emplace_back(store::DeleteOutbox{destination, ack.id});
  if (--routing.queued_for[destination] == 0) routing.queued_for.erase(destination);
  routing.entries.erase(entry);
  routes_changed(out);
}

// Whether the destination (this realm) sees this envelope for the first time. The mark of
// (origin, epoch) is the highest seq below which every seq was taken; the seqs taken above it
// are kept (as refusal rows with the error "+") until the gap below them closes.
bool Realm::first_time(const frames::Fwd& envelope, Outcome& out) {
  const std::string key = routed_key(envelope.origin);
  EpochDedup& dedup = remember_epoch(key, envelope.epoch, out);
  if (envelope.seq <= dedup.seen || dedup.refused.contains(envelope.seq)) return false;
  dedup.refused.emplace(envelope.seq, "+");
  const std::uint64_t old_floor = dedup.seen;
  while (!dedup.refused.empty() && (dedup.refused.begin()->first == dedup.seen + 1 ||
                                    dedup.refused.size() > max_out_of_order)) {
    dedup.seen = dedup.refused.begin()->first;
    dedup.refused.erase(dedup.refused.begin());
  }
  dedup.touched = state_->last_id();
  if (dedup.refused.contains(envelope.seq)) {  // above a gap: remembered until it closes
    out.mutations.emplace_back(store::PutRefused{{key, envelope.epoch, envelope.seq, "+"}});
  }
  if (dedup.seen != old_floor) {
    out.mutations.emplace_back(store::PutSeen{{key, envelope.epoch, dedup.seen, dedup.touched}});
    out.mutations.emplace_back(store::DeleteRefused{key, envelope.epoch, dedup.seen});
  }
  return true;
}

void Realm::take_envelope(const frames::Fwd& envelope, Outcome& out) {
  if (!first_time(envelope, out)) return;  // a second copy (another path, a retransmission)
  if (is_answer(envelope)) return answer_arrived(envelope, out);
  std::string error;
  if (!settings_.reachable_via_relays && envelope.hops > 0) {
    error = text::realm_not_found;  // it crossed other realms: this realm takes none such
  } else {
    error = take_message(envelope.origin, envelope.kind, envelope.to, envelope.from, envelope.text,
                         envelope.time, out);
  }
  hold_answer(*state_, env_, answer_to(envelope, error, settings_.name, settings_.name, env_), out);
  routes_changed(out);
}

// A message this realm cannot carry on: its origin hears why (a bounce, or its waiting
// client's error). An answer that cannot go on is dropped: there is nobody to tell.
void Realm::refuse_envelope(const frames::Fwd& envelope, std::string_view error, Outcome& out) {
  if (is_answer(envelope)) return;
  frames::Fwd answer = answer_to(envelope, error, envelope.dest, settings_.name, env_);
  if (envelope.origin == settings_.name) return answer_arrived(answer, out);
  hold_answer(*state_, env_, std::move(answer), out);
  routes_changed(out);
}

// The destination's (or a relay's) answer to one of this realm's routed messages: the client
// still waiting hears it; a refusal after "queued" becomes a bounce, as for a direct peer.
void Realm::answer_arrived(const frames::Fwd& answer, Outcome& out) {
  const bool ok = answer.text.empty();
  std::optional<std::uint64_t> waiter;
  if (answer.re_epoch == env_.epoch) waiter = state_->ack_waiter(answer.oid);
  if (waiter) {
    std::optional<Waiter> taken = state_->take_waiter(*waiter);
    out.completions.push_back({*waiter, realm_send_reply(ok, answer.text, taken->group), {}});
  } else if (!ok && state_->find_user(answer.to) != nullptr) {
    const std::string& realm = answer.about.empty() ? answer.origin : answer.about;
    store_bounce(*state_, answer.to, realm, answer.from, answer.text, env_.now_utc(), out);
  }
}

// getrealminbox across a path: forwarded hop by hop without being stored; the destination
// answers at once (what it holds for us is already on its way, in custody).
void Realm::on_peer_frame(Peer&, const frames::RFetch& fetch, Outcome& out) {
  if (fetch.dest == settings_.name) {
    if (Peer* hop = next_hop(*state_, fetch.origin)) {
      out.frames.push_back(
          {hop->name, frames::RFetched{fetch.rid, settings_.name, fetch.origin, 0}});
    }
    return;
  }
  if (!settings_.relay || fetch.hops + 1 >= max_route_path) return;
  if (Peer* hop = next_hop(*state_, fetch.dest)) {
    frames::RFetch on = fetch;
    ++on.hops;
    out.frames.push_back({hop->name, std::move(on)});
  }
}

void Realm::on_peer_frame(Peer&, const frames::RFetched& fetched, Outcome& out) {
  if (fetched.dest != settings_.name) {
    if (fetched.hops + 1 >= max_route_path) return;
    if (Peer* hop = next_hop(*state_, fetched.dest)) {
      frames::RFetched on = fetched;
      ++on.hops;
      out.frames.push_back({hop->name, std::move(on)});
    }
    return;
  }
  commands::answer_realm_inboxes(*state_, settings_, fetched.origin, fetched.rid, true, out);
}

}  // namespace chat::core
