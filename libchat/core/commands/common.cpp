#include "core/commands/common.hpp"

#include <unordered_map>

#include "core/delivery.hpp"
#include "core/history.hpp"
#include "core/realm_state.hpp"

namespace chat::core::commands {

void deliver(Request& req, std::string_view recipient) {
  store_private_message(
      req.state,
      make_message_record(req.state.next_id(), std::string(recipient), std::string(req.user),
                          req.settings.name, {}, std::string(req.text), req.env.now_utc()),
      user_conversation(req.user, recipient), req.out);
}

void deliver_to_group(Request& req, std::string_view name, const Group& group) {
  // One clock read per request, not per member; ids and recipients are set per entry.
  store_group_message(
      req.state,
      make_message_record(0, {}, std::string(req.user), req.settings.name, std::string(name),
                          std::string(req.text), req.env.now_utc()),
      group.members, req.user, req.out);
}

UnreadReply take_unread(RealmState& state, const RealmSettings& settings, std::string_view user,
                        std::string_view realm, std::vector<std::uint64_t>& reserved) {
  UnreadReply unread;
  unread.messages = state.reserve_unread(user, realm, settings.max_inbox_reply_bytes);
  std::unordered_map<std::string_view, std::size_t> index;  // sender -> position in by_sender
  for (const UnreadMessage& m : unread.messages) {
    auto [it, added] = index.try_emplace(m.sender, unread.by_sender.size());
    if (added) unread.by_sender.push_back({m.sender, {}});
    unread.by_sender[it->second].messages.push_back(m.view());
    reserved.push_back(m.id);
  }
  return unread;
}

Completion realm_inbox(RealmState& state, const RealmSettings& settings, std::string_view user,
                       std::string_view realm, bool synced) {
  Completion done;
  UnreadReply unread = take_unread(state, settings, user, realm, done.fetched_after_write);
  done.reply = protocol::reply::ok_realm_inbox(realm, unread.by_sender, synced);
  return done;
}

void answer_realm_inboxes(RealmState& state, const RealmSettings& settings, std::string_view realm,
                          std::optional<std::uint64_t> rid, bool synced, Outcome& out) {
  for (std::uint64_t id : state.waiters_of(realm, Waiter::Kind::fetch)) {
    if (rid && state.find_waiter(id)->key != *rid) continue;
    std::optional<Waiter> waiter = state.take_waiter(id);
    Completion done = realm_inbox(state, settings, waiter->user, realm, synced);
    done.waiter = id;
    out.completions.push_back(std::move(done));
  }
}

}  // namespace chat::core::commands
