#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/state_maps.hpp"
#include "store/records.hpp"

// The unread inboxes, and the message ids this realm hands out.
namespace chat::core {

struct InboxMessage {
  store::MessageRecord record;
  bool reserved = false;  // in a reply that is not yet written (see Realm::reply_written)
};

// A user's unread messages, by the realm they came from, each ordered by id (oldest first).
struct Inbox {
  StringMap<std::map<std::uint64_t, InboxMessage>> by_realm;
};

class Inboxes {
 public:
  std::uint64_t next_id() { return ++last_id_; }
  std::uint64_t last_id() const { return last_id_; }
  void set_last_id(std::uint64_t id) { last_id_ = std::max(last_id_, id); }
  // Adds a message to its recipient's unread inbox; returns it for announcing.
  const InboxMessage& add_unread(store::MessageRecord record);
  // Reserves one unread message for a push (false if it is gone or reserved already).
  bool reserve(const store::MessageRecord& message);
  // Unread, unreserved messages of `user` that came from `realm`, oldest first; at most
  // `max_bytes` of text (but at least one message). Reserves what it returns.
  std::vector<const InboxMessage*> reserve_unread(std::string_view user, std::string_view realm,
                                                  std::size_t max_bytes);
  void release(const std::vector<std::uint64_t>& ids);         // reply lost: fetchable again
  void remove_fetched(const std::vector<std::uint64_t>& ids);  // reply written
  // Every unread message of `user` (reserved ones too), in no particular order.
  std::vector<const store::MessageRecord*> unread_messages(std::string_view user) const;

 private:
  StringMap<Inbox> inboxes_;
  std::unordered_map<std::uint64_t, std::pair<std::string, std::string>>
      reserved_;  // id -> (user, realm)
  std::uint64_t last_id_ = 0;
};

}  // namespace chat::core
