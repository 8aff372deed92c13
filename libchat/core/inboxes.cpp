#include "core/inboxes.hpp"

namespace chat::core {

namespace {

// The first entry with an id >= `id` (the entries are by id ascending).
template <typename Entries>
auto first_from(Entries& entries, std::uint64_t id) {
  return std::lower_bound(entries.begin(), entries.end(), id,
                          [](const InboxEntry& e, std::uint64_t key) { return e.id < key; });
}

}  // namespace

std::uint32_t NameTable::acquire(std::string_view name) {
  if (name.empty()) return 0;
  auto found = index_.find(name);
  if (found != index_.end()) {
    ++names_[found->second].uses;
    return found->second;
  }
  std::uint32_t index = 0;
  if (free_.empty()) {
    index = static_cast<std::uint32_t>(names_.size());
    names_.push_back({});
  } else {
    index = free_.back();
    free_.pop_back();
  }
  names_[index] = {std::string(name), 1};
  index_.emplace(std::string(name), index);
  return index;
}

void NameTable::release(std::uint32_t index) {
  if (index == 0 || --names_[index].uses > 0) return;
  index_.erase(index_.find(names_[index].text));
  names_[index].text.clear();
  free_.push_back(index);
}

void Inboxes::add_unread(const store::MessageRecord& record) {
  set_last_id(record.id);
  InboxEntry entry{.id = record.id,
                   .history_id = record.history_id,
                   .text = record.text,
                   .sender = names_.acquire(record.sender),
                   .group = names_.acquire(record.group),
                   .bounce = record.bounce};
  if (std::optional<std::int64_t> seconds = parse_utc_seconds(record.time)) {
    entry.time = *seconds;
  } else {
    entry.odd_time = true;
    odd_times_.insert_or_assign(record.id, record.time);
  }
  Entries& entries = inboxes_[record.recipient].by_realm[record.sender_realm];
  // Ids only grow (new messages, and the store loads them in order): appended, no search.
  if (entries.empty() || entries.back().id < record.id) {
    entries.push_back(std::move(entry));
    return;
  }
  entries.insert(first_from(entries, record.id), std::move(entry));
}

InboxEntry* Inboxes::find_entry(std::string_view user, std::string_view realm, std::uint64_t id) {
  Inbox* inbox = find_value(inboxes_, user);
  if (inbox == nullptr) return nullptr;
  Entries* entries = find_value(inbox->by_realm, realm);
  if (entries == nullptr) return nullptr;
  auto it = first_from(*entries, id);
  return it == entries->end() || it->id != id ? nullptr : &*it;
}

UnreadMessage Inboxes::unread_message(std::string_view user, std::string_view realm,
                                      const InboxEntry& entry) const {
  UnreadMessage message;
  message.id = entry.id;
  message.shown_id = entry.history_id != 0 ? entry.history_id : entry.id;
  message.sender = names_.name(entry.sender);
  message.recipient = user;
  message.sender_realm = realm;
  message.group = names_.name(entry.group);
  message.text = entry.text;
  message.bounce = entry.bounce;
  if (entry.odd_time) {
    message.has_odd_time = true;
    message.odd_time = odd_times_.at(entry.id);
  } else {
    message.formatted_time = format_utc_seconds(entry.time);
  }
  return message;
}

void Inboxes::forget(const InboxEntry& entry) {
  names_.release(entry.sender);
  names_.release(entry.group);
  if (entry.odd_time) odd_times_.erase(entry.id);
}

bool Inboxes::reserve(const store::MessageRecord& message) {
  InboxEntry* entry = find_entry(message.recipient, message.sender_realm, message.id);
  if (entry == nullptr || entry->reserved) return false;
  entry->reserved = true;
  reserved_.emplace(message.id, std::pair{message.recipient, message.sender_realm});
  return true;
}

std::vector<UnreadMessage> Inboxes::reserve_unread(std::string_view user, std::string_view realm,
                                                   std::size_t max_bytes) {
  std::vector<UnreadMessage> out;
  auto inbox = inboxes_.find(user);
  if (inbox == inboxes_.end()) return out;
  auto entries = inbox->second.by_realm.find(realm);
  if (entries == inbox->second.by_realm.end()) return out;
  std::size_t bytes = 0;
  for (InboxEntry& entry : entries->second) {
    if (entry.reserved) continue;
    // The views point at the map's keys, which live as long as the entries.
    UnreadMessage message = unread_message(inbox->first, entries->first, entry);
    // What the message takes in the reply, escapes included (up to 6x its text).
    const std::size_t size = protocol::reply::message_bytes(message.view());
    if (!out.empty() && bytes + size > max_bytes) break;
    bytes += size;
    entry.reserved = true;
    reserved_.emplace(entry.id, std::pair{inbox->first, entries->first});
    out.push_back(message);
  }
  return out;
}

void Inboxes::release(const std::vector<std::uint64_t>& ids) {
  for (auto id : ids) {
    auto it = reserved_.find(id);
    if (it == reserved_.end()) continue;
    const auto& [user, realm] = it->second;
    if (InboxEntry* entry = find_entry(user, realm, id)) entry->reserved = false;
    reserved_.erase(it);
  }
}

void Inboxes::remove_fetched(const std::vector<std::uint64_t>& ids) {
  for (auto id : ids) {
    auto it = reserved_.find(id);
    if (it == reserved_.end()) continue;
    const auto& [user, realm] = it->second;
    auto inbox = inboxes_.find(user);
    if (inbox != inboxes_.end()) {
      auto entries = inbox->second.by_realm.find(realm);
      if (entries != inbox->second.by_realm.end()) {
        Entries& list = entries->second;
        // Fetches take the oldest: the entry is at (or near) the front, which a deque erases
        // without moving the rest.
        auto at = first_from(list, id);
        if (at != list.end() && at->id == id) {
          forget(*at);
          list.erase(at);
        }
        if (list.empty()) inbox->second.by_realm.erase(entries);
      }
      if (inbox->second.by_realm.empty()) inboxes_.erase(inbox);
    }
    reserved_.erase(it);
  }
}

void Inboxes::for_each_unread(std::string_view user,
                              const std::function<void(const UnreadMessage&)>& visit) const {
  auto inbox = inboxes_.find(user);
  if (inbox == inboxes_.end()) return;
  for (const auto& [realm, entries] : inbox->second.by_realm) {
    for (const InboxEntry& entry : entries) visit(unread_message(inbox->first, realm, entry));
  }
}

}  // namespace chat::core
