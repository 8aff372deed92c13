// addrealm, sendprivaterealm, sendgrouprealm, getrealminbox, realms: the commands that reach
// other realms. They only decide and record; realmd's links carry the frames, and the
// answers of peers come back through Realm::peer_frame (core/realm_links.cpp).
#include <algorithm>
#include <charconv>

#include "core/commands/common.hpp"
#include "core/commands/handlers.hpp"
#include "core/realm.hpp"
#include "core/realm_state.hpp"
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
void send_to_peer(Request& req, Peer& peer, bool group) {
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
  entry.kind = group ? "group" : "private";
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
    std::uint64_t waiter = req.state.add_waiter({Waiter::Kind::ack, peer.name, {}, id, group});
    req.out.wait = Wait{waiter, req.settings.ack_timeout};
  } else {
    req.out.reply = protocol::reply::ok_queued();
  }
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
    req.out.audit.push_back("admin " + std::string(req.user) + ": addrealm " +
                            std::string(name) + " " + added.host + " " +
                            std::to_string(added.port));
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
  Peer* peer = reachable_peer(req, realm);
  if (peer == nullptr) return reply_error(req, text::realm_user_not_found);
  send_to_peer(req, *peer, false);
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
  Peer* peer = reachable_peer(req, realm);
  if (peer == nullptr) return reply_error(req, text::realm_group_not_found);
  send_to_peer(req, *peer, true);
}

void getrealminbox(Request& req) {
  std::string_view realm = req.params[0];
  Peer* peer = is_self(req, realm) ? nullptr : reachable_peer(req, realm);
  if (!is_self(req, realm) && peer == nullptr) return reply_error(req, text::realm_not_found);
  if (peer != nullptr && peer->link == LinkState::linked) {
    // Ask the peer to hand over what it still holds for this user, then answer.
    std::uint64_t rid = req.state.next_rid();
    req.out.frames.push_back({peer->name, PeerFetch{rid, std::string(req.user)}});
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
    views.push_back({peer->name, link_state_name(peer->link), addresses.back(), peer->last_error,
                     peer->outbox.size()});
  }
  req.out.reply = protocol::reply::ok_realms(views);
}

}  // namespace chat::core::commands
