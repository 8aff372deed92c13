#pragma once
#include <cstdint>
#include <string>

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

}  // namespace chat::core
