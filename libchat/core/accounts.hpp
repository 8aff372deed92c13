#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/state_maps.hpp"
#include "store/records.hpp"

// Accounts and groups: who may log in, who belongs where, and the failed auths per username.
namespace chat::core {

struct User {
  store::UserRecord record;
};

struct Group {
  std::vector<std::string> members;  // join order
  StringSet member_set;
};

// Failed-auth bookkeeping for one username (per-connection counters live on the Connection).
// A vector, not a deque: every user that logs in gets one, and an empty std::deque already holds
// a 576-byte block (docs/performance.md "Idle connections").
struct AuthFailures {
  std::vector<Clock::time_point> recent;
  Clock::time_point locked_until{};
};

// (username, address) failure records kept before the idle ones are swept.
inline constexpr std::size_t max_tracked_auth_addresses = 100000;

class Accounts {
 public:
  // --- users ---
  const User* find_user(std::string_view name) const { return find_value(users_, name); }
  User* find_user(std::string_view name) { return find_value(users_, name); }
  void add_user(store::UserRecord record);

  // --- groups ---
  const Group* find_group(std::string_view name) const { return find_value(groups_, name); }
  void add_group(std::string_view name);
  void add_member(std::string_view group, std::string_view user);  // group must exist
  // Groups `user` is a member of (scans the groups).
  std::vector<std::string_view> groups_of(std::string_view user) const;

  // --- failed auths per username ---
  // Per username (all addresses: the slow-down) and per (username, address) (the lockout).
  AuthFailures& auth_failures(std::string_view username);
  AuthFailures& auth_failures(std::string_view username, std::string_view address,
                              Clock::time_point now, Clock::duration window);

 private:
  StringMap<User> users_;
  StringMap<Group> groups_;
  StringMap<AuthFailures> auth_failures_;
  StringMap<AuthFailures> auth_failures_by_address_;  // key: username '\0' address
};

}  // namespace chat::core
