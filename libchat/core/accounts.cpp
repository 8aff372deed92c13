#include "core/accounts.hpp"

namespace chat::core {

void Accounts::add_user(store::UserRecord record) {
  std::string name = record.username;
  users_.emplace(std::move(name), User{std::move(record)});
}

void Accounts::add_group(std::string_view name) {
  groups_.try_emplace(std::string(name));
}

void Accounts::add_member(std::string_view group, std::string_view user) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return;
  if (it->second.member_set.emplace(user).second) it->second.members.emplace_back(user);
}

std::vector<std::string_view> Accounts::groups_of(std::string_view user) const {
  std::vector<std::string_view> names;
  for (const auto& [name, group] : groups_) {
    if (group.member_set.contains(user)) names.push_back(name);
  }
  return names;
}

AuthFailures& Accounts::auth_failures(std::string_view username, std::string_view address,
                                      Clock::time_point now, Clock::duration window) {
  std::string key(username);
  key.push_back('\0');  // a name never holds a NUL: the key is unambiguous
  key.append(address);
  // An attacker from many addresses makes many entries: past a bound, the ones that no
  // longer lock anything are dropped (they would be empty at their next use anyway).
  if (auth_failures_by_address_.size() >= max_tracked_auth_addresses) {
    std::erase_if(auth_failures_by_address_, [&](const auto& entry) {
      const AuthFailures& f = entry.second;
      return f.locked_until <= now && (f.recent.empty() || now - f.recent.back() >= window);
    });
  }
  return auth_failures_by_address_[key];
}

AuthFailures& Accounts::auth_failures(std::string_view username) {
  auto it = auth_failures_.find(username);
  if (it == auth_failures_.end())
    it = auth_failures_.emplace(std::string(username), AuthFailures{}).first;
  return it->second;
}

}  // namespace chat::core
