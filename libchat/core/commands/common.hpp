#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/command_table.hpp"
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

// Reserves the user's unread messages that came from `realm` and groups them by sender
// (senders in order of their oldest message, each list oldest first). The reserved ids are
// appended to `reserved` (the reply's fetched_after_write). The views point into `state`:
// write the reply before changing it.
std::vector<protocol::reply::SenderMessages> take_unread(RealmState& state,
                                                         const RealmSettings& settings,
                                                         std::string_view user,
                                                         std::string_view realm,
                                                         std::vector<std::uint64_t>& reserved);

// The getrealminbox reply for `user` and messages from `realm`.
Completion realm_inbox(RealmState& state, const RealmSettings& settings, std::string_view user,
                       std::string_view realm, bool synced);

// Answers the getrealminbox calls waiting on `realm` (only the one that asked with `rid`, when
// given) with realm_inbox.
void answer_realm_inboxes(RealmState& state, const RealmSettings& settings, std::string_view realm,
                          std::optional<std::uint64_t> rid, bool synced, Outcome& out);

}  // namespace chat::core::commands
