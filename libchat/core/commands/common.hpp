#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/command_table.hpp"
#include "core/inboxes.hpp"
#include "protocol/reply.hpp"

// Small pieces shared by the handler families.
namespace chat::core {
struct Group;
}

namespace chat::core::commands {

inline void reply_error(Request& req, std::string_view message) {
  req.out.reply = protocol::reply::error(message);
}
inline void reply_ok(Request& req, std::string_view message) {
  req.out.reply = protocol::reply::ok_message(message);
}

// Stores a new private message in a local user's inbox and in history: in memory now, in the
// store with the request's commit (the reply waits for it).
void deliver(Request& req, std::string_view recipient);
// The request's text to every member of local group `name` but the sender, and once to the
// group's history.
void deliver_to_group(Request& req, std::string_view name, const Group& group);

// The user's unread messages that came from `realm`, reserved, grouped by sender (senders in
// order of their oldest message, each list oldest first). The views of `by_sender` point into
// `messages` and `state`: write the reply before changing either.
struct UnreadReply {
  std::vector<UnreadMessage> messages;
  std::vector<protocol::reply::SenderMessages> by_sender;
};
// The reserved ids are appended to `reserved` (the reply's fetched_after_write).
UnreadReply take_unread(RealmState& state, const RealmSettings& settings, std::string_view user,
                        std::string_view realm, std::vector<std::uint64_t>& reserved);

// The getrealminbox reply for `user` and messages from `realm`.
Completion realm_inbox(RealmState& state, const RealmSettings& settings, std::string_view user,
                       std::string_view realm, bool synced);

// Answers the getrealminbox calls waiting on `realm` (only the one that asked with `rid`, when
// given) with realm_inbox.
void answer_realm_inboxes(RealmState& state, const RealmSettings& settings, std::string_view realm,
                          std::optional<std::uint64_t> rid, bool synced, Outcome& out);

}  // namespace chat::core::commands
