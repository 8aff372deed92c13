#pragma once
#include "core/accounts.hpp"
#include "core/conversations.hpp"
#include "core/inboxes.hpp"
#include "core/peer_book.hpp"
#include "core/sessions.hpp"

// The realm's data in memory, in five parts that share nothing: accounts and groups, unread
// inboxes, conversations, sessions, the peer book. Pure data with small invariant-keeping
// operations; no I/O. The store holds the durable copy (docs/design.md §4).
namespace chat::core {

// The parts are bases rather than members so that a handler keeps writing
// `state.find_user(...)`: each part's data stays private to it, and no name is in two parts.
class RealmState : public Accounts,
                   public Inboxes,
                   public Conversations,
                   public Sessions,
                   public PeerBook {};

}  // namespace chat::core
