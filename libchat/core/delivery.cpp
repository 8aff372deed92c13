#include "core/delivery.hpp"

#include <utility>

#include "core/history.hpp"
#include "core/realm_state.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"

namespace chat::core {

store::MessageRecord make_message_record(std::uint64_t id, std::string recipient,
                                         std::string sender, std::string sender_realm,
                                         std::string group, std::string text, std::string time) {
  store::MessageRecord record;
  record.id = id;
  record.recipient = std::move(recipient);
  record.sender = std::move(sender);
  record.sender_realm = std::move(sender_realm);
  record.group = std::move(group);
  record.text = std::move(text);
  record.time = std::move(time);
  return record;
}

namespace {

// Puts `message` in its recipient's inbox in memory and pushes it to the recipient's watching
// connections; the caller queues the mutation that stores it.
void add_to_inbox(RealmState& state, const store::MessageRecord& message, Outcome& out) {
  // The inbox keeps its own compact copy.
  state.add_unread(message);
  const std::vector<Watcher>* watchers = state.watchers(message.recipient);
  if (watchers == nullptr) return;
  std::string event = protocol::reply::event_message(
      {message.shown_id(), message.sender, message.recipient, message.text, message.sender_realm,
       message.time, message.group, message.bounce});
  bool reserved = state.reserve(message);
  for (const Watcher& watcher : *watchers) {
    Push push{watcher.connection, event, {}};
    if (reserved) {
      push.fetched_after_write.push_back(message.id);
      reserved = false;  // the others see it too, but one write makes it fetched
    }
    out.pushes.push_back(std::move(push));
  }
}

store::HistoryRecord history_record(const store::MessageRecord& message, std::string conversation) {
  return {message.id,        std::move(conversation), message.sender, message.sender_realm,
          message.recipient, message.group,           message.text,   message.time,
          message.bounce};
}

}  // namespace

void store_message(RealmState& state, store::MessageRecord message, Outcome& out) {
  add_to_inbox(state, message, out);
  out.mutations.emplace_back(store::PutMessage{std::move(message)});
}

void store_private_message(RealmState& state, store::MessageRecord message,
                           std::string conversation, Outcome& out) {
  record_history(state, history_record(message, std::move(conversation)), out);
  store_message(state, std::move(message), out);
}

void store_bounce(RealmState& state, const std::string& user, const std::string& realm,
                  const std::string& target, const std::string& error, std::string time,
                  Outcome& out) {
  store::MessageRecord bounce =
      make_message_record(state.next_id(), user, realm, realm, {},
                          protocol::text::bounce_text(target, error), std::move(time));
  bounce.bounce = true;
  store_private_message(state, std::move(bounce), realm_conversation(realm, realm, user), out);
}

void store_group_message(RealmState& state, store::MessageRecord message,
                         const std::vector<std::string>& members, std::string_view skip,
                         Outcome& out) {
  message.id = state.next_id();
  message.recipient = message.group;
  record_history(state, history_record(message, group_conversation(message.group)), out);
  message.history_id = message.id;
  // One mutation for all the members (store::PutGroupMessage): the record is reused for each
  // inbox entry, its text and time copied into no mutation of their own.
  std::vector<store::GroupDelivery> deliveries;
  deliveries.reserve(members.size());
  for (const std::string& member : members) {
    if (member == skip) continue;
    message.id = state.next_id();
    message.recipient = member;
    add_to_inbox(state, message, out);
    deliveries.push_back({message.id, member});
  }
  if (deliveries.empty()) return;
  out.mutations.emplace_back(store::PutGroupMessage{std::move(message), std::move(deliveries)});
}

}  // namespace chat::core
