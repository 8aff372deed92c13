// addrealm, sendprivaterealm, sendgrouprealm, getrealminbox, realms: the commands that reach
// other realms. They only decide and record; realmd's links carry the frames, and the
// answers of peers come back through Realm::peer_frame (core/realm_links.cpp).
#include <algorithm>
#include <charconv>

#include "core/commands/common.hpp"
#include "core/commands/handlers.hpp"
#include "core/history.hpp"
#include "core/realm_state.hpp"
#include "core/routing.hpp"
#include "protocol/messages.hpp"

namespace chat::core::commands {

namespace text = protocol::text;

namespace {

bool is_self(const Request& req, std::string_view realm) {
  return realm == req.settings.name;
}

bool is_admin(const Request& req) {
  const auto& admins = req.settings.admins;
  return std::find(admins.begin(), admins.end(), req.user) != admins.end();
}

// The peer a realm command may reach, or nullptr (unknown, or configured but not linked to).
Peer* reachable_peer(Request& req, std::string_view realm) {
  Peer* peer = req.state.find_peer(realm);
  return peer != nullptr && peer->active ? peer : nullptr;
}

// Puts the message in the peer's durable outbox. With the link up it goes out at once and
// the reply waits for the ack; otherwise the reply says it is queued.
void send_to_peer(Request& req, Peer& peer, frames::MessageKind kind) {
  if (peer.outbox.size() >= req.settings.max_outbox_per_peer) {
    return reply_error(req, text::outbox_full);
  }
  if (peer.link == LinkState::linked && peer.max_text != 0 && req.text.size() > peer.max_text) {
    return reply_error(req, text::message_too_long);  // the peer said it takes no longer
  }
  store::OutboxRecord entry;
  entry.id = req.state.next_id();
  entry.epoch = req.env.epoch;
  entry.peer = peer.name;
  entry.kind = frames::kind_name(kind);
  entry.sender = req.user;
  entry.target = req.params[1];
  entry.text = req.text;
  entry.time = req.env.now_utc();
  req.out.mutations.emplace_back(store::PutOutbox{entry});
  std::uint64_t id = entry.id;
  peer.outbox.emplace(id, std::move(entry));
  if (peer.link == LinkState::linked) {
    // Out now if the window has room (else behind the older ones, as acks free it); the
    // reply waits for the ack either way, up to ack_timeout.
    // Nothing older in the outbox is too long (the link's first pump refused those), and
    // this one was checked above.
    std::vector<std::uint64_t> too_long;
    pump_outbox(peer, req.settings.link_window, req.out.frames, too_long);
    std::uint64_t waiter = req.state.add_waiter(
        {Waiter::Kind::ack, peer.name, {}, id, kind == frames::MessageKind::group});
    req.out.wait = Wait{waiter, req.settings.ack_timeout};
  } else {
    req.out.reply = protocol::reply::ok_queued();
  }
}

// A realm reached through others: known from a route (now or earlier in this run) or from
// envelopes waiting for it, and not a peer (a peer is always reached over its own link).
bool routed_realm(Request& req, std::string_view realm) {
  return req.state.routing().known.contains(std::string(realm));
}

// Puts the message in this realm's custody as a routed envelope. With a path up it goes out
// at once and the reply waits for the destination's answer; otherwise it says queued.
void send_routed(Request& req, std::string_view realm, frames::MessageKind kind) {
  Routing& routing = req.state.routing();
  auto held = routing.queued_for.find(std::string(realm));
  if (held != routing.queued_for.end() && held->second >= req.settings.max_outbox_per_peer) {
    return reply_error(req, text::outbox_full);
  }
  Peer* hop = next_hop(req.state, realm);
  if (hop != nullptr && hop->max_text != 0 && req.text.size() > hop->max_text) {
    return reply_error(req, text::message_too_long);  // the next hop said it takes no longer
  }
  frames::Fwd envelope;
  envelope.origin = req.settings.name;
  envelope.dest = std::string(realm);
  envelope.epoch = req.env.epoch;
  envelope.seq = ++routing.last_seq[envelope.dest];
  envelope.kind = kind;
  envelope.from = req.user;
  envelope.to = req.params[1];
  envelope.text = req.text;
  envelope.time = req.env.now_utc();
  envelope.oid = req.state.next_id();  // names it end to end (the answer's oid), signed with it
  sign_envelope(envelope, req.env);
  const std::uint64_t id = envelope.oid;
  if (kind == frames::MessageKind::user) {
    // The sender's copy joins their history now: once the first hop has the message this realm
    // keeps no copy to record when the answer comes (a direct peer's is recorded at its ack).
    record_history(req.state,
                   {req.state.next_id(),
                    realm_conversation(realm, envelope.to, envelope.from),
                    envelope.from,
                    req.settings.name,
                    envelope.to,
                    {},
                    envelope.text,
                    envelope.time,
                    false},
                   req.out);
  }
  hold_envelope(req.state, std::move(envelope), req.out);
  std::vector<frames::Fwd> too_long;  // none: checked above against the next hop
  pump_envelopes(req.state, req.settings, req.out, too_long);
  if (hop != nullptr) {
    std::uint64_t waiter = req.state.add_waiter(
        {Waiter::Kind::ack, std::string(realm), {}, id, kind == frames::MessageKind::group});
    req.out.wait = Wait{waiter, req.settings.ack_timeout};
  } else {
    req.out.reply = protocol::reply::ok_queued();
  }
}

// getrealminbox for a realm reached through others: asks it across the path (fetch, answered
// by fetched), then answers from local storage; with no path up, at once, not synced.
void routed_inbox(Request& req, std::string_view realm) {
  if (Peer* hop = next_hop(req.state, realm)) {
    std::uint64_t rid = req.state.next_rid();
    req.out.frames.push_back({hop->name, frames::RFetch{rid, req.settings.name, std::string(realm),
                                                        0, std::string(req.user)}});
    std::uint64_t waiter = req.state.add_waiter(
        {Waiter::Kind::fetch, std::string(realm), std::string(req.user), rid, false});
    req.out.wait = Wait{waiter, req.settings.fetch_timeout};
    return;
  }
  Completion done = realm_inbox(req.state, req.settings, req.user, realm, false);
  req.out.reply = std::move(done.reply);
  req.out.fetched_after_write = std::move(done.fetched_after_write);
}

// A send to another realm: over the link to it, else along a route; `not_found` when neither
// reaches it.
void send_to_realm(Request& req, std::string_view realm, frames::MessageKind kind,
                   std::string_view not_found) {
  if (Peer* peer = reachable_peer(req, realm)) return send_to_peer(req, *peer, kind);
  if (routed_realm(req, realm)) return send_routed(req, realm, kind);
  reply_error(req, not_found);
}

std::uint16_t to_port(std::string_view digits) {
  std::uint16_t port = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), port);  // validated: 1-65535
  return port;
}

}  // namespace

void addrealm(Request& req) {
  std::string_view name = req.params[0];
  bool long_form = req.params.size() == 3;
  if (long_form && !is_admin(req)) {
    req.out.audit.push_back("admin command refused: addrealm by non-admin " +
                            std::string(req.user));
    return reply_error(req, text::access_denied);
  }
  Peer* peer = req.state.find_peer(name);
  if (is_self(req, name) || (peer != nullptr && peer->active)) {
    return reply_error(req, text::realm_exists);
  }
  // The short form links to a realm the config names; the long form (admins) to any address.
  if (!long_form && (peer == nullptr || !peer->configured)) {
    return reply_error(req, text::realm_not_found);
  }
  Peer& added = peer != nullptr ? *peer : req.state.add_peer(std::string(name));
  if (long_form) {
    added.host = req.params[1];
    added.port = to_port(req.params[2]);
    req.out.audit.push_back("admin " + std::string(req.user) + ": addrealm " + std::string(name) +
                            " " + added.host + " " + std::to_string(added.port));
  }
  added.active = true;
  added.link = LinkState::connecting;
  added.last_error.clear();
  req.out.mutations.emplace_back(store::PutPeer{{added.name, added.host, added.port}});
  req.out.dial.push_back(added.name);
  std::uint64_t waiter = req.state.add_waiter({Waiter::Kind::link, added.name, {}, 0, false});
  req.out.wait = Wait{waiter, req.settings.link_timeout};
}

void sendprivaterealm(Request& req) {
  std::string_view realm = req.params[0];
  std::string_view recipient = req.params[1];
  if (is_self(req, realm)) {
    if (req.state.find_user(recipient) == nullptr)
      return reply_error(req, text::realm_user_not_found);
    deliver(req, recipient);
    return reply_ok(req, text::sent_to_realm_user);
  }
  send_to_realm(req, realm, frames::MessageKind::user, text::realm_user_not_found);
}

void sendgrouprealm(Request& req) {
  std::string_view realm = req.params[0];
  std::string_view name = req.params[1];
  if (is_self(req, realm)) {
    const Group* group = req.state.find_group(name);
    if (group == nullptr) return reply_error(req, text::realm_group_not_found);
    if (!group->member_set.contains(req.user)) return reply_error(req, text::not_member);
    deliver_to_group(req, name, *group);
    return reply_ok(req, text::sent_to_realm_group);
  }
  send_to_realm(req, realm, frames::MessageKind::group, text::realm_group_not_found);
}

void getrealminbox(Request& req) {
  std::string_view realm = req.params[0];
  Peer* peer = is_self(req, realm) ? nullptr : reachable_peer(req, realm);
  if (!is_self(req, realm) && peer == nullptr) {
    if (!routed_realm(req, realm)) return reply_error(req, text::realm_not_found);
    return routed_inbox(req, realm);
  }
  if (peer != nullptr && peer->link == LinkState::linked) {
    // Ask the peer to hand over what it still holds for this user, then answer.
    std::uint64_t rid = req.state.next_rid();
    req.out.frames.push_back({peer->name, frames::Fetch{rid, std::string(req.user)}});
    std::uint64_t waiter =
        req.state.add_waiter({Waiter::Kind::fetch, peer->name, std::string(req.user), rid, false});
    req.out.wait = Wait{waiter, req.settings.fetch_timeout};
    return;
  }
  Completion done = realm_inbox(req.state, req.settings, req.user, realm, peer == nullptr);
  req.out.reply = std::move(done.reply);
  req.out.fetched_after_write = std::move(done.fetched_after_write);
}

void realms(Request& req) {
  std::vector<std::string> addresses;
  auto peers = req.state.peers();
  addresses.reserve(peers.size());
  std::vector<protocol::reply::RealmView> views;
  for (const Peer* peer : peers) {
    addresses.push_back(peer->port == 0 ? std::string()
                                        : peer->host + ":" + std::to_string(peer->port));
    // Queued: its outbox, and the routed envelopes held here for it (ours or relayed).
    auto routed = req.state.routing().queued_for.find(peer->name);
    const std::size_t envelopes =
        routed != req.state.routing().queued_for.end() ? routed->second : 0;
    protocol::reply::RealmView view{peer->name,
                                    link_state_name(peer->link),
                                    addresses.back(),
                                    peer->last_error,
                                    peer->outbox.size() + envelopes,
                                    {},
                                    0};
    // A peer not linked to (configured with autoconnect: false) may be reached through others.
    auto best = req.state.routing().last_best.find(peer->name);
    if (!peer->active && best != req.state.routing().last_best.end()) {
      view.state = "routed";
      view.via = best->second.next_hop;
      view.distance = best->second.distance;
    }
    views.push_back(view);
  }
  // Realms reached through others: "routed" with the next hop and the distance in links, or
  // "unreachable" while no path is up (their messages wait here).
  const Routing& routing = req.state.routing();
  for (const std::string& name : routing.known) {
    if (req.state.find_peer(name) != nullptr || is_self(req, name)) continue;  // listed above
    auto best = routing.last_best.find(name);
    auto held = routing.queued_for.find(name);
    protocol::reply::RealmView view{
        name, best != routing.last_best.end() ? "routed" : "unreachable", "",
        "",   held != routing.queued_for.end() ? held->second : 0,        {},
        0};
    if (best != routing.last_best.end()) {
      view.via = best->second.next_hop;
      view.distance = best->second.distance;
    }
    views.push_back(view);
  }
  req.out.reply = protocol::reply::ok_realms(views);
}

}  // namespace chat::core::commands
