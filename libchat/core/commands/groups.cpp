// addgroup, joingroup.
#include "core/commands/common.hpp"
#include "core/commands/handlers.hpp"
#include "core/realm_state.hpp"
#include "protocol/messages.hpp"

namespace chat::core::commands {

namespace text = protocol::text;

void addgroup(Request& req) {
  std::string_view name = req.params[0];
  if (req.state.find_group(name) != nullptr) return reply_error(req, text::group_exists);
  req.state.add_group(name);
  req.state.add_member(name, req.user);  // the creator becomes a member
  req.out.mutations.emplace_back(store::PutGroup{std::string(name)});
  req.out.mutations.emplace_back(store::PutMember{std::string(name), std::string(req.user)});
  reply_ok(req, text::group_added);
}

void joingroup(Request& req) {
  std::string_view name = req.params[0];
  const Group* group = req.state.find_group(name);
  if (group == nullptr) return reply_error(req, text::group_not_found);
  if (group->member_set.contains(req.user)) return reply_error(req, text::already_member);
  req.state.add_member(name, req.user);
  req.out.mutations.emplace_back(store::PutMember{std::string(name), std::string(req.user)});
  reply_ok(req, text::group_joined);
}

}  // namespace chat::core::commands
