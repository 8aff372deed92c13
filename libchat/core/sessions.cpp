#include "core/sessions.hpp"

#include <algorithm>

namespace chat::core {

std::optional<std::string> Sessions::add_session(const std::string& key, std::string user,
                                                 Clock::time_point now) {
  std::optional<std::string> evicted;
  auto& keys = sessions_by_user_[user];
  if (keys.size() >= max_sessions_per_user) {
    evicted = keys.front();
    end_session(*evicted);  // may erase `keys` only when it empties, which a full cap is not
  }
  sessions_by_user_[user].push_back(key);
  sessions_.insert_or_assign(key, Session{std::move(user), now});
  return evicted;
}

void Sessions::bind_connection(const std::string& key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  ++it->second.bound_connections;
  ++online_[it->second.user];
}

void Sessions::unbind_connection(const std::string& key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;  // ended elsewhere: end_session already uncounted it
  --it->second.bound_connections;
  count_offline(it->second.user, 1);
}

bool Sessions::end_session(std::string_view key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return false;
  const std::string& user = it->second.user;
  count_offline(user, it->second.bound_connections);
  if (auto watching = watchers_.find(user); watching != watchers_.end()) {
    std::erase_if(watching->second, [&](const Watcher& w) { return w.session_key == key; });
    if (watching->second.empty()) watchers_.erase(watching);
  }
  auto keys = sessions_by_user_.find(user);
  if (keys != sessions_by_user_.end()) {
    std::erase(keys->second, key);
    if (keys->second.empty()) sessions_by_user_.erase(keys);
  }
  sessions_.erase(it);
  return true;
}

bool Sessions::online(std::string_view user) const {
  const int* connections = find_value(online_, user);
  return connections != nullptr && *connections > 0;
}

void Sessions::count_offline(const std::string& user, int connections) {
  if (connections == 0) return;
  auto it = online_.find(user);
  if (it == online_.end()) return;
  it->second -= connections;
  if (it->second <= 0) online_.erase(it);
}

void Sessions::add_watcher(const std::string& user, std::uint64_t connection,
                           const std::string& session_key) {
  auto& watchers = watchers_[user];
  auto same = [&](const Watcher& w) { return w.connection == connection; };
  if (std::find_if(watchers.begin(), watchers.end(), same) == watchers.end()) {
    watchers.push_back({connection, session_key});
  }
}

void Sessions::remove_watcher(const std::string& user, std::uint64_t connection) {
  auto it = watchers_.find(user);
  if (it == watchers_.end()) return;
  std::erase_if(it->second, [&](const Watcher& w) { return w.connection == connection; });
  if (it->second.empty()) watchers_.erase(it);
}

}  // namespace chat::core
