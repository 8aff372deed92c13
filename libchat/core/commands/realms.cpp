// addrealm, sendprivaterealm, sendgrouprealm, getrealminbox.
// Until realm links exist (federation), the only realm reachable is this one: another name
// is answered as for a realm that is not a peer.
#include <algorithm>

#include "core/commands/common.hpp"
#include "core/commands/handlers.hpp"
#include "core/realm.hpp"
#include "core/realm_state.hpp"
#include "protocol/messages.hpp"

namespace chat::core::commands {

namespace text = protocol::text;

namespace {
bool is_self(const Request& req, std::string_view realm) {
  return realm == req.settings.name;
}

bool is_admin(const Request& req) {
  const auto& admins = req.settings.admins;
  return std::find(admins.begin(), admins.end(), req.user) != admins.end();
}
}  // namespace

void addrealm(Request& req) {
  std::string_view realm = req.params[0];
  bool long_form = req.params.size() == 3;
  if (long_form && !is_admin(req)) return reply_error(req, text::access_denied);
  if (is_self(req, realm)) return reply_error(req, text::realm_exists);
  reply_error(req, text::realm_not_found);
}

void sendprivaterealm(Request& req) {
  std::string_view realm = req.params[0];
  std::string_view recipient = req.params[1];
  if (!is_self(req, realm) || req.state.find_user(recipient) == nullptr) {
    return reply_error(req, text::realm_user_not_found);
  }
  deliver(req, recipient, {});
  reply_ok(req, text::sent_to_realm_user);
}

void sendgrouprealm(Request& req) {
  std::string_view realm = req.params[0];
  const Group* group = is_self(req, realm) ? req.state.find_group(req.params[1]) : nullptr;
  if (group == nullptr) return reply_error(req, text::realm_group_not_found);
  if (!group->member_set.contains(req.user)) return reply_error(req, text::not_member);
  for (const std::string& member : group->members) {
    if (member != req.user) deliver(req, member, req.params[1]);
  }
  reply_ok(req, text::sent_to_realm_group);
}

void getrealminbox(Request& req) {
  std::string_view realm = req.params[0];
  if (!is_self(req, realm)) return reply_error(req, text::realm_not_found);
  req.out.reply = protocol::reply::ok_realm_inbox(realm, take_unread(req, realm), true);
}

}  // namespace chat::core::commands
