#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"
#include "store/records.hpp"

namespace chat::core {

class RealmState;

// A message for `recipient`'s inbox (group: empty for a private message). The one place a
// MessageRecord is put together.
store::MessageRecord make_message_record(std::uint64_t id, std::string recipient,
                                         std::string sender, std::string sender_realm,
                                         std::string group, std::string text, std::string time);

// Stores a new message in its recipient's inbox: in memory now, in the store with the
// Outcome's commit, and pushed to the recipient's `watch`ing connections (the first one
// reserves it: written there, it counts as fetched).
void store_message(RealmState& state, store::MessageRecord message, Outcome& out);

// A private message (or a bounce): in the recipient's inbox and, under the same id, in
// history as part of `conversation`.
void store_private_message(RealmState& state, store::MessageRecord message,
                           std::string conversation, Outcome& out);

// The bounce of a message `user` sent to `target` of `realm`, which refused it with `error`:
// from realm R, in the user's conversation with R itself (docs/protocol.md).
void store_bounce(RealmState& state, const std::string& user, const std::string& realm,
                  const std::string& target, const std::string& error, std::string time,
                  Outcome& out);

// A group message: once in history (a new id, which clients see), then in the inbox of every
// member but `skip` (each entry with an id of its own, pointing at the history id).
// `message.recipient` and `message.id` are set here.
void store_group_message(RealmState& state, store::MessageRecord message,
                         const std::vector<std::string>& members, std::string_view skip,
                         Outcome& out);

}  // namespace chat::core
