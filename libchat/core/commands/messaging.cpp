// send, sendgroup: messages between users of this realm.
#include "core/commands/common.hpp"
#include "core/commands/handlers.hpp"
#include "core/realm_state.hpp"
#include "protocol/messages.hpp"

namespace chat::core::commands {

namespace text = protocol::text;

void send(Request& req) {
  std::string_view recipient = req.params[0];
  if (req.state.find_user(recipient) == nullptr) return reply_error(req, text::user_not_found);
  deliver(req, recipient);
  reply_ok(req, text::message_sent);
}

void sendgroup(Request& req) {
  std::string_view name = req.params[0];
  const Group* group = req.state.find_group(name);
  if (group == nullptr) return reply_error(req, text::group_not_found);
  if (!group->member_set.contains(req.user)) return reply_error(req, text::not_member);
  deliver_to_group(req, name, *group);
  reply_ok(req, text::message_sent_group);
}

}  // namespace chat::core::commands
