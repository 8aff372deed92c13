#include "core/realm_state.hpp"

#include <algorithm>

#include "protocol/reply.hpp"

namespace chat::core {

const User* RealmState::find_user(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

User* RealmState::find_user(std::string_view name) {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

void RealmState::add_user(store::UserRecord record) {
  std::string name = record.username;
  users_.emplace(std::move(name), User{std::move(record), 0});
}

const Group* RealmState::find_group(std::string_view name) const {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : &it->second;
}

void RealmState::add_group(std::string_view name) {
  groups_.try_emplace(std::string(name));
}

void RealmState::add_member(std::string_view group, std::string_view user) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return;
  if (it->second.member_set.emplace(user).second) it->second.members.emplace_back(user);
}

const InboxMessage& RealmState::add_unread(store::MessageRecord record) {
  set_last_id(record.id);
  auto& by_id = inboxes_[record.recipient].by_realm[record.sender_realm];
  auto id = record.id;
  // Ids only grow (new messages, and the store loads them in order): hint the end so the
  // insert does not walk the tree (the top symbol of a send profile before).
  return by_id.emplace_hint(by_id.end(), id, InboxMessage{std::move(record), false})->second;
}

bool RealmState::reserve(const store::MessageRecord& message) {
  auto inbox = inboxes_.find(message.recipient);
  if (inbox == inboxes_.end()) return false;
  auto messages = inbox->second.by_realm.find(message.sender_realm);
  if (messages == inbox->second.by_realm.end()) return false;
  auto it = messages->second.find(message.id);
  if (it == messages->second.end() || it->second.reserved) return false;
  it->second.reserved = true;
  reserved_.emplace(message.id, std::pair{message.recipient, message.sender_realm});
  return true;
}

void RealmState::add_watcher(const std::string& user, std::uint64_t connection,
                             const std::string& session_key) {
  auto& watchers = watchers_[user];
  auto same = [&](const Watcher& w) { return w.connection == connection; };
  if (std::find_if(watchers.begin(), watchers.end(), same) == watchers.end()) {
    watchers.push_back({connection, session_key});
  }
}

void RealmState::remove_watcher(const std::string& user, std::uint64_t connection) {
  auto it = watchers_.find(user);
  if (it == watchers_.end()) return;
  std::erase_if(it->second, [&](const Watcher& w) { return w.connection == connection; });
  if (it->second.empty()) watchers_.erase(it);
}

const std::vector<Watcher>* RealmState::watchers(std::string_view user) const {
  auto it = watchers_.find(user);
  return it == watchers_.end() ? nullptr : &it->second;
}

std::vector<const InboxMessage*> RealmState::reserve_unread(std::string_view user,
                                                            std::string_view realm,
                                                            std::size_t max_bytes) {
  std::vector<const InboxMessage*> out;
  auto inbox = inboxes_.find(user);
  if (inbox == inboxes_.end()) return out;
  auto messages = inbox->second.by_realm.find(realm);
  if (messages == inbox->second.by_realm.end()) return out;
  std::size_t bytes = 0;
  for (auto& [id, message] : messages->second) {
    if (message.reserved) continue;
    // What the message takes in the reply, escapes included (up to 6x its text).
    const store::MessageRecord& r = message.record;
    const std::size_t size = protocol::reply::message_bytes(
        {r.id, r.sender, r.recipient, r.text, r.sender_realm, r.time, r.group, r.bounce});
    if (!out.empty() && bytes + size > max_bytes) break;
    bytes += size;
    message.reserved = true;
    reserved_.emplace(id, std::pair{std::string(user), std::string(realm)});
    out.push_back(&message);
  }
  return out;
}

void RealmState::release(const std::vector<std::uint64_t>& ids) {
  for (auto id : ids) {
    auto it = reserved_.find(id);
    if (it == reserved_.end()) continue;
    auto& [user, realm] = it->second;
    auto& by_id = inboxes_[user].by_realm[realm];
    if (auto m = by_id.find(id); m != by_id.end()) m->second.reserved = false;
    reserved_.erase(it);
  }
}

void RealmState::remove_fetched(const std::vector<std::uint64_t>& ids) {
  for (auto id : ids) {
    auto it = reserved_.find(id);
    if (it == reserved_.end()) continue;
    auto& [user, realm] = it->second;
    auto inbox = inboxes_.find(user);
    if (inbox != inboxes_.end()) {
      auto messages = inbox->second.by_realm.find(realm);
      if (messages != inbox->second.by_realm.end()) {
        messages->second.erase(id);
        if (messages->second.empty()) inbox->second.by_realm.erase(messages);
      }
      if (inbox->second.by_realm.empty()) inboxes_.erase(inbox);
    }
    reserved_.erase(it);
  }
}

bool RealmState::note_conversation_message(const std::string& key, std::uint64_t id,
                                           std::string_view time) {
  auto entry = conversations_.find(key);
  const bool first = entry == conversations_.end();
  if (first) entry = conversations_.try_emplace(key).first;
  Conversation& conversation = entry->second;
  if (id > conversation.last_id) {
    conversation.last_id = id;
    conversation.last_time = time;
  }
  ++conversation.count;
  if (conversation_limit_ != 0 && conversation.count > conversation_limit_) over_limit_.insert(key);
  if (id > history_indexed_up_to_) {
    unindexed_.emplace_back(id, &entry->first);
    unindexed_by_conversation_[key].push_back(id);
  }
  return first;
}

std::vector<std::uint64_t> RealmState::unindexed_ids(std::string_view key, std::uint64_t before,
                                                     std::size_t count) const {
  std::vector<std::uint64_t> ids;
  auto it = unindexed_by_conversation_.find(key);
  if (it == unindexed_by_conversation_.end()) return ids;
  const std::deque<std::uint64_t>& all = it->second;
  auto end = before == 0 ? all.end() : std::lower_bound(all.begin(), all.end(), before);
  auto first = end - static_cast<std::ptrdiff_t>(
                         std::min(count, static_cast<std::size_t>(end - all.begin())));
  ids.assign(first, end);
  return ids;
}

std::optional<std::uint64_t> RealmState::take_unindexed(std::size_t max) {
  std::optional<std::uint64_t> last;
  for (std::size_t i = 0; i < max && !unindexed_.empty(); ++i) {
    auto [id, key] = unindexed_.front();
    auto ids = unindexed_by_conversation_.find(*key);
    ids->second.pop_front();  // ids are queued in order: this one is its conversation's oldest
    if (ids->second.empty()) unindexed_by_conversation_.erase(ids);
    last = id;
    unindexed_.pop_front();
  }
  if (last) history_indexed_up_to_ = *last;
  return last;
}

void RealmState::load_conversation(const store::ConversationSummary& summary) {
  conversations_[summary.conversation] = {summary.last_id, summary.last_time, summary.count};
  if (conversation_limit_ != 0 && summary.count > conversation_limit_) {
    over_limit_.insert(summary.conversation);
  }
}

void RealmState::add_participant(std::string_view user, const std::string& key) {
  auto it = private_conversations_.find(user);
  if (it == private_conversations_.end()) {
    it = private_conversations_.try_emplace(std::string(user)).first;
  }
  if (!it->second.contains(key)) it->second.insert(key);
}

const Conversation* RealmState::find_conversation(std::string_view key) const {
  auto it = conversations_.find(key);
  return it == conversations_.end() ? nullptr : &it->second;
}

Conversation* RealmState::find_conversation(std::string_view key) {
  auto it = conversations_.find(key);
  return it == conversations_.end() ? nullptr : &it->second;
}

const StringSet* RealmState::private_conversations(std::string_view user) const {
  auto it = private_conversations_.find(user);
  return it == private_conversations_.end() ? nullptr : &it->second;
}

std::vector<std::string_view> RealmState::groups_of(std::string_view user) const {
  std::vector<std::string_view> names;
  for (const auto& [name, group] : groups_) {
    if (group.member_set.contains(user)) names.push_back(name);
  }
  return names;
}

void RealmState::set_conversation_limit(std::uint64_t limit) {
  conversation_limit_ = limit;
}

std::vector<const store::MessageRecord*> RealmState::unread_messages(std::string_view user) const {
  std::vector<const store::MessageRecord*> out;
  auto inbox = inboxes_.find(user);
  if (inbox == inboxes_.end()) return out;
  for (const auto& [realm, messages] : inbox->second.by_realm) {
    for (const auto& [id, message] : messages) out.push_back(&message.record);
  }
  return out;
}

std::optional<std::string> RealmState::add_session(const std::string& key, std::string user,
                                                   Clock::time_point now) {
  std::optional<std::string> evicted;
  auto& keys = sessions_by_user_[user];
  if (keys.size() >= max_sessions_per_user) {
    evicted = keys.front();
    end_session(*evicted);  // may erase `keys` only when it empties, which a full cap is not
  }
  sessions_by_user_[user].push_back(key);
  sessions_.insert_or_assign(key, Session{std::move(user), now});
  return evicted;
}

void RealmState::bind_connection(const std::string& key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  ++it->second.bound_connections;
  if (User* user = find_user(it->second.user)) ++user->open_connections;
}

void RealmState::unbind_connection(const std::string& key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;  // ended elsewhere: end_session already uncounted it
  --it->second.bound_connections;
  if (User* user = find_user(it->second.user)) --user->open_connections;
}

Session* RealmState::find_session(std::string_view key) {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : &it->second;
}

bool RealmState::end_session(std::string_view key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return false;
  const std::string& user = it->second.user;
  if (User* bound = find_user(user)) bound->open_connections -= it->second.bound_connections;
  if (auto watching = watchers_.find(user); watching != watchers_.end()) {
    std::erase_if(watching->second, [&](const Watcher& w) { return w.session_key == key; });
    if (watching->second.empty()) watchers_.erase(watching);
  }
  auto keys = sessions_by_user_.find(user);
  if (keys != sessions_by_user_.end()) {
    std::erase(keys->second, key);
    if (keys->second.empty()) sessions_by_user_.erase(keys);
  }
  sessions_.erase(it);
  return true;
}

AuthFailures& RealmState::auth_failures(std::string_view username, std::string_view address,
                                        Clock::time_point now, Clock::duration window) {
  std::string key(username);
  key.push_back('\0');  // a name never holds a NUL: the key is unambiguous
  key.append(address);
  // An attacker from many addresses makes many entries: past a bound, the ones that no
  // longer lock anything are dropped (they would be empty at their next use anyway).
  if (auth_failures_by_address_.size() >= max_tracked_auth_addresses) {
    std::erase_if(auth_failures_by_address_, [&](const auto& entry) {
      const AuthFailures& f = entry.second;
      return f.locked_until <= now && (f.recent.empty() || now - f.recent.back() >= window);
    });
  }
  return auth_failures_by_address_[key];
}

AuthFailures& RealmState::auth_failures(std::string_view username) {
  auto it = auth_failures_.find(username);
  if (it == auth_failures_.end())
    it = auth_failures_.emplace(std::string(username), AuthFailures{}).first;
  return it->second;
}

}  // namespace chat::core

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

Peer* RealmState::find_peer(std::string_view name) {
  auto it = peers_.find(name);
  return it == peers_.end() ? nullptr : &it->second;
}

const Peer* RealmState::find_peer(std::string_view name) const {
  auto it = peers_.find(name);
  return it == peers_.end() ? nullptr : &it->second;
}

Peer& RealmState::add_peer(std::string name) {
  auto [it, added] = peers_.try_emplace(name);
  if (added) it->second.name = std::move(name);
  return it->second;
}

std::vector<const Peer*> RealmState::peers() const {
  std::vector<const Peer*> out;
  out.reserve(peers_.size());
  for (const auto& [name, peer] : peers_) out.push_back(&peer);
  std::sort(out.begin(), out.end(), [](const Peer* a, const Peer* b) { return a->name < b->name; });
  return out;
}

EpochDedup& RealmState::dedup(std::string_view origin, std::uint64_t epoch) {
  return dedup_of(origin)[epoch];
}

std::map<std::uint64_t, EpochDedup>& RealmState::dedup_of(std::string_view origin) {
  auto it = dedup_.find(origin);
  if (it == dedup_.end()) it = dedup_.try_emplace(std::string(origin)).first;
  return it->second;
}

std::size_t RealmState::epochs_kept(std::string_view origin) const {
  auto it = dedup_.find(origin);
  return it == dedup_.end() ? 0 : it->second.size();
}

std::uint64_t RealmState::add_waiter(Waiter waiter) {
  std::uint64_t id = ++last_waiter_;
  if (waiter.kind == Waiter::Kind::ack) ack_waiters_[waiter.key] = id;
  waiters_.emplace(id, std::move(waiter));
  return id;
}

std::optional<Waiter> RealmState::take_waiter(std::uint64_t id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return std::nullopt;
  Waiter waiter = std::move(it->second);
  waiters_.erase(it);
  if (waiter.kind == Waiter::Kind::ack) ack_waiters_.erase(waiter.key);
  return waiter;
}

const Waiter* RealmState::find_waiter(std::uint64_t id) const {
  auto it = waiters_.find(id);
  return it == waiters_.end() ? nullptr : &it->second;
}

std::optional<std::uint64_t> RealmState::ack_waiter(std::uint64_t id) const {
  auto it = ack_waiters_.find(id);
  if (it == ack_waiters_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::uint64_t> RealmState::waiters_of(std::string_view peer, Waiter::Kind kind) const {
  std::vector<std::uint64_t> out;
  for (const auto& [id, waiter] : waiters_) {
    if (waiter.kind == kind && waiter.peer == peer) out.push_back(id);
  }
  return out;
}

}  // namespace chat::core
