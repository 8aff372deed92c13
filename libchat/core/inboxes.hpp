#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/state_maps.hpp"
#include "core/utc_seconds.hpp"
#include "protocol/reply.hpp"
#include "store/records.hpp"

// The unread inboxes, and the message ids this realm hands out.
namespace chat::core {

// Names many inbox entries share (senders, groups), each stored once and known by a number;
// a name is forgotten when its last entry leaves. 0 is the empty name.
class NameTable {
 public:
  std::uint32_t acquire(std::string_view name);
  void release(std::uint32_t index);
  std::string_view name(std::uint32_t index) const { return names_[index].text; }

 private:
  struct Name {
    std::string text;
    std::size_t uses = 0;
  };
  std::deque<Name> names_{Name{}};  // a deque: views of a name survive new names
  StringMap<std::uint32_t> index_;
  std::vector<std::uint32_t> free_;
};

// One unread message as the inbox keeps it: what a reply needs besides the inbox's own keys
// (recipient, sender realm). 72 bytes, and the text's allocation when it is over 15 bytes;
// a whole MessageRecord in a map node took about 420 (docs/performance.md, "Restart with
// 1,000,000 unread").
struct InboxEntry {
  std::uint64_t id = 0;
  std::uint64_t history_id = 0;  // MessageRecord::history_id
  std::int64_t time = 0;         // utc_seconds.hpp; unless odd_time
  std::string text;
  std::uint32_t sender = 0;  // in the NameTable
  std::uint32_t group = 0;   // in the NameTable; 0: a private message
  bool bounce = false;
  bool reserved = false;  // in a reply that is not yet written (see Realm::reply_written)
  bool odd_time = false;  // a time not in realmd's form (from a peer): kept as text aside
};

// An unread message as replies read it. Its views point into the Inboxes, valid until they
// change; its time text is its own (`time()`), so it must stay put while a view of it is used.
struct UnreadMessage {
  std::uint64_t id = 0;        // the inbox entry's (what fetched_after_write names)
  std::uint64_t shown_id = 0;  // MessageRecord::shown_id()
  std::string_view sender, recipient, sender_realm, group, text;
  bool bounce = false;
  UtcText formatted_time{};
  std::string_view odd_time;  // the time when it is not in realmd's form
  bool has_odd_time = false;

  std::string_view time() const {
    return has_odd_time ? odd_time : std::string_view(formatted_time.data(), utc_text_size);
  }
  protocol::reply::MessageView view() const {
    return {shown_id, sender, recipient, text, sender_realm, time(), group, bounce};
  }
};

class Inboxes {
 public:
  std::uint64_t next_id() { return ++last_id_; }
  std::uint64_t last_id() const { return last_id_; }
  void set_last_id(std::uint64_t id) { last_id_ = std::max(last_id_, id); }
  // Adds a message to its recipient's unread inbox (a copy: the caller keeps the record).
  void add_unread(const store::MessageRecord& record);
  // Reserves one unread message for a push (false if it is gone or reserved already).
  bool reserve(const store::MessageRecord& message);
  // Unread, unreserved messages of `user` that came from `realm`, oldest first; at most
  // `max_bytes` of text (but at least one message). Reserves what it returns.
  std::vector<UnreadMessage> reserve_unread(std::string_view user, std::string_view realm,
                                            std::size_t max_bytes);
  void release(const std::vector<std::uint64_t>& ids);         // reply lost: fetchable again
  void remove_fetched(const std::vector<std::uint64_t>& ids);  // reply written
  // Calls `visit` with every unread message of `user` (reserved ones too), in no particular
  // order.
  void for_each_unread(std::string_view user,
                       const std::function<void(const UnreadMessage&)>& visit) const;

 private:
  // A user's unread messages from one realm, by id ascending (oldest first). Ids only grow,
  // so a new message is appended and fetches take from the front.
  using Entries = std::deque<InboxEntry>;
  struct Inbox {
    StringMap<Entries> by_realm;
  };

  InboxEntry* find_entry(std::string_view user, std::string_view realm, std::uint64_t id);
  UnreadMessage unread_message(std::string_view user, std::string_view realm,
                               const InboxEntry& entry) const;
  void forget(const InboxEntry& entry);  // its names and odd time

  StringMap<Inbox> inboxes_;
  NameTable names_;
  std::unordered_map<std::uint64_t, std::string> odd_times_;  // entry id -> time text
  std::unordered_map<std::uint64_t, std::pair<std::string, std::string>>
      reserved_;  // id -> (user, realm)
  std::uint64_t last_id_ = 0;
};

}  // namespace chat::core
