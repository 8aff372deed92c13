#pragma once
#include "core/command_table.hpp"

// Handlers of the command table, one file per family (commands/*.cpp).
namespace chat::core::commands {

// account.cpp
void auth(Request& req);
void register_user(Request& req);
void logout(Request& req);
void info(Request& req);
// groups.cpp
void addgroup(Request& req);
void joingroup(Request& req);
// messaging.cpp
void send(Request& req);
void sendgroup(Request& req);
// inbox.cpp
void inbox(Request& req);
// realms.cpp
void addrealm(Request& req);
void sendprivaterealm(Request& req);
void sendgrouprealm(Request& req);
void getrealminbox(Request& req);
void realms(Request& req);  // ours: the peers and their links
// live.cpp (ours)
void watch(Request& req);
void unwatch(Request& req);
// history.cpp (docs/contract.md §3.1)
void history(Request& req);
bool valid_history_params(const std::vector<std::string_view>& params);
void conversations(Request& req);

}  // namespace chat::core::commands

namespace chat::core::commands {
// account.cpp: finishes an auth/register after its password job (Realm::resume).
void finish_password(Request& req, const PasswordResult& result);
// account.cpp: the connection lets go of its session (the session itself may live on).
void unbind_connection(RealmState& state, Connection& conn);
}  // namespace chat::core::commands
