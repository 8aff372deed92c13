#pragma once
#include <string_view>
#include <vector>

#include "core/command_table.hpp"
#include "protocol/reply.hpp"

// Small pieces shared by the handler families.
namespace chat::core::commands {

inline void reply_error(Request& req, std::string_view message) {
  req.out.reply = protocol::reply::error(message);
}
inline void reply_ok(Request& req, std::string_view message) {
  req.out.reply = protocol::reply::ok_message(message);
}

// Stores a new message in a local user's inbox: in memory now, in the store with the
// request's commit (the reply waits for it).
void deliver(Request& req, std::string_view recipient, std::string_view group);

// Reserves the user's unread messages that came from `realm` and groups them by sender
// (senders in order of their oldest message, each list oldest first). The reserved ids go
// to out.fetched_after_write.
std::vector<protocol::reply::SenderMessages> take_unread(Request& req, std::string_view realm);

}  // namespace chat::core::commands
