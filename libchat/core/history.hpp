#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/inboxes.hpp"
#include "core/outcome.hpp"
#include "store/records.hpp"

// Conversations and history (docs/protocol.md "History"). The messages are in the store and
// are read off the event loop (Outcome::history); the list of conversations, small beside
// them, is kept in RealmState.
namespace chat::core {

class RealmState;

// A conversation as one participant sees it (a CONV object): kind "user" (local private),
// "group" (a local group) or "realm" (private with a user of another realm).
struct ConversationView {
  std::string_view kind;
  std::string name;
  std::string realm;
};

// The store's key of a conversation. Names cannot hold '/', so the keys are unambiguous.
std::string user_conversation(std::string_view a, std::string_view b);  // either order
std::string group_conversation(std::string_view group);
std::string realm_conversation(std::string_view realm, std::string_view remote_user,
                               std::string_view local_user);

// The conversation an inbox message belongs to, for the recipient (own_realm: this realm).
std::string conversation_of(const UnreadMessage& message, std::string_view own_realm);
// What `viewer` sees of conversation `key` (a user or realm conversation they are part of);
// nothing for a group conversation or one `viewer` is not part of.
std::optional<ConversationView> private_view(std::string_view key, std::string_view viewer,
                                             std::string_view own_realm);

// Records a message in history: in the store with the Outcome's commit, and in the
// conversation list now.
void record_history(RealmState& state, store::HistoryRecord message, Outcome& out);

// Restores a conversation of the store at start.
void restore_conversation(RealmState& state, const store::ConversationSummary& summary);

// The `history` reply for a page read from the store (pure: realmd builds it on the reader
// thread).
std::string history_reply(const store::HistoryPage& page);

}  // namespace chat::core
