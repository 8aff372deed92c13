#pragma once
#include "core/outcome.hpp"
#include "store/records.hpp"

namespace chat::core {

class RealmState;

// Stores a new message in its recipient's inbox: in memory now, in the store with the
// Outcome's commit, and pushed to the recipient's `watch`ing connections (the first one
// reserves it: written there, it counts as fetched).
void store_message(RealmState& state, store::MessageRecord message, Outcome& out);

}  // namespace chat::core
