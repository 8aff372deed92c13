#include "core/inboxes.hpp"

#include "protocol/reply.hpp"

namespace chat::core {

const InboxMessage& Inboxes::add_unread(store::MessageRecord record) {
  set_last_id(record.id);
  auto& by_id = inboxes_[record.recipient].by_realm[record.sender_realm];
  auto id = record.id;
  // Ids only grow (new messages, and the store loads them in order): hint the end so the
  // insert does not walk the tree (the top symbol of a send profile before).
  return by_id.emplace_hint(by_id.end(), id, InboxMessage{std::move(record), false})->second;
}

bool Inboxes::reserve(const store::MessageRecord& message) {
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

std::vector<const InboxMessage*> Inboxes::reserve_unread(std::string_view user,
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

void Inboxes::release(const std::vector<std::uint64_t>& ids) {
  for (auto id : ids) {
    auto it = reserved_.find(id);
    if (it == reserved_.end()) continue;
    auto& [user, realm] = it->second;
    auto& by_id = inboxes_[user].by_realm[realm];
    if (auto m = by_id.find(id); m != by_id.end()) m->second.reserved = false;
    reserved_.erase(it);
  }
}

void Inboxes::remove_fetched(const std::vector<std::uint64_t>& ids) {
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

std::vector<const store::MessageRecord*> Inboxes::unread_messages(std::string_view user) const {
  std::vector<const store::MessageRecord*> out;
  auto inbox = inboxes_.find(user);
  if (inbox == inboxes_.end()) return out;
  for (const auto& [realm, messages] : inbox->second.by_realm) {
    for (const auto& [id, message] : messages) out.push_back(&message.record);
  }
  return out;
}

}  // namespace chat::core
