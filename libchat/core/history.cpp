#include "core/history.hpp"

#include <vector>

#include "core/realm_state.hpp"
#include "protocol/reply.hpp"

namespace chat::core {
namespace {

constexpr char separator = '/';  // never in a name (docs/contract.md §1.2)

std::vector<std::string_view> split_key(std::string_view key) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= key.size(); ++i) {
    if (i == key.size() || key[i] == separator) {
      parts.push_back(key.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::string join(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (std::string_view part : parts) {
    if (!key.empty()) key += separator;
    key += part;
  }
  return key;
}

}  // namespace

std::string user_conversation(std::string_view a, std::string_view b) {
  return a < b ? join({"u", a, b}) : join({"u", b, a});
}

std::string group_conversation(std::string_view group) {
  return join({"g", group});
}

std::string realm_conversation(std::string_view realm, std::string_view remote_user,
                               std::string_view local_user) {
  return join({"r", realm, remote_user, local_user});
}

std::string conversation_of(const UnreadMessage& message, std::string_view own_realm) {
  if (!message.group.empty()) return group_conversation(message.group);
  if (message.sender_realm == own_realm)
    return user_conversation(message.sender, message.recipient);
  return realm_conversation(message.sender_realm, message.sender, message.recipient);
}

std::optional<ConversationView> private_view(std::string_view key, std::string_view viewer,
                                             std::string_view own_realm) {
  std::vector<std::string_view> parts = split_key(key);
  if (parts.size() == 3 && parts[0] == "u" && (parts[1] == viewer || parts[2] == viewer)) {
    std::string_view other = parts[1] == viewer ? parts[2] : parts[1];
    return ConversationView{"user", std::string(other), std::string(own_realm)};
  }
  if (parts.size() == 4 && parts[0] == "r" && parts[3] == viewer) {
    return ConversationView{"realm", std::string(parts[2]), std::string(parts[1])};
  }
  return std::nullopt;
}

namespace {

// The local users of a user or realm conversation see it in their list.
void add_participants(RealmState& state, const std::string& key) {
  std::vector<std::string_view> parts = split_key(key);
  if (parts.size() == 3 && parts[0] == "u") {
    state.add_participant(parts[1], key);
    state.add_participant(parts[2], key);
  } else if (parts.size() == 4 && parts[0] == "r") {
    state.add_participant(parts[3], key);
  }
}

}  // namespace

void record_history(RealmState& state, store::HistoryRecord message, Outcome& out) {
  // Who takes part never changes: a conversation's first message says it once.
  if (state.note_conversation_message(message.conversation, message.id, message.time)) {
    add_participants(state, message.conversation);
  }
  out.mutations.emplace_back(store::PutHistory{std::move(message)});
}

void restore_conversation(RealmState& state, const store::ConversationSummary& summary) {
  state.load_conversation(summary);
  add_participants(state, summary.conversation);
}

std::string history_reply(const store::HistoryPage& page) {
  std::vector<protocol::reply::MessageView> messages;
  messages.reserve(page.messages.size());
  for (const store::HistoryRecord& m : page.messages) {
    messages.push_back(
        {m.id, m.sender, m.recipient, m.text, m.sender_realm, m.time, m.group, m.bounce});
  }
  return protocol::reply::ok_history(messages, page.more);
}

}  // namespace chat::core
