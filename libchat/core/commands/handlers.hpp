#pragma once
#include "core/command_table.hpp"

// Handlers of the command table, one file per family (commands/*.cpp).
namespace chat::core::commands {

// Each declared by its type, Handler's function type (core/handler_context.hpp).
// account.cpp
HandlerFunction auth, register_user, logout, info;
// groups.cpp
HandlerFunction addgroup, joingroup;
// messaging.cpp
HandlerFunction send, sendgroup;
// inbox.cpp
HandlerFunction inbox;
// realms.cpp; `realms` is ours: the peers and their links
HandlerFunction addrealm, sendprivaterealm, sendgrouprealm, getrealminbox, realms;
// live.cpp (ours)
HandlerFunction watch, unwatch;
// history.cpp (docs/contract.md §3.1)
HandlerFunction history, conversations;
bool valid_history_params(const std::vector<std::string_view>& params);

// account.cpp: finishes an auth/register after its password job (Realm::resume).
void finish_password(Request& req, const PasswordResult& result);
// account.cpp: the connection lets go of its session (the session itself may live on).
void unbind_connection(RealmState& state, Connection& conn);
}  // namespace chat::core::commands
