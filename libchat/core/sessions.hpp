#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/state_maps.hpp"

// Sessions, by session_key(token), the connections bound to them (a user with one is
// "online") and the connections that `watch` their user's new messages. The store keeps the
// sessions too, so a restart does not end them (docs/protocol.md "Sessions").
namespace chat::core {

struct Session {
  std::string user;
  Clock::time_point last_used;
  int bound_connections = 0;  // connections this session is bound to (auth/register there)
};

// A connection that `watch`es its user's new messages, and the session it watches under: when
// that session ends (logout, even from another connection, or the per-user cap), so does the
// watch.
struct Watcher {
  std::uint64_t connection = 0;
  std::string session_key;  // of the session the watch belongs to
};

// Sessions a user may hold at once; the oldest is ended when a new one passes the cap
// (every connection that logs in makes one; token-mode clients may reconnect often).
inline constexpr std::size_t max_sessions_per_user = 32;

class Sessions {
 public:
  // Returns the key of the session it ended to stay within max_sessions_per_user, if any.
  std::optional<std::string> add_session(const std::string& key, std::string user,
                                         Clock::time_point now);
  Session* find_session(std::string_view key) { return find_value(sessions_, key); }
  // Ends the session: connections bound to it no longer count as online, and their watches
  // end (a push after that would mark the owner's messages read for a stranger). False: there
  // was none.
  bool end_session(std::string_view key);
  // A connection was bound to / unbound from a live session (counts toward `online`).
  void bind_connection(const std::string& key);
  void unbind_connection(const std::string& key);
  // Whether a connection is bound to a session of `user`.
  bool online(std::string_view user) const;

  // --- connections watching their user's new messages (`watch`) ---
  void add_watcher(const std::string& user, std::uint64_t connection,
                   const std::string& session_key);
  void remove_watcher(const std::string& user, std::uint64_t connection);
  const std::vector<Watcher>* watchers(std::string_view user) const {
    return find_value(watchers_, user);
  }

 private:
  void count_offline(const std::string& user, int connections);

  StringMap<Session> sessions_;
  // Oldest first, for the per-user cap. A vector (at most max_sessions_per_user keys), not a
  // deque: an empty std::deque already holds a 576-byte block, for every user logged in.
  StringMap<std::vector<std::string>> sessions_by_user_;
  StringMap<int> online_;  // user -> connections bound to their sessions (only when > 0)
  StringMap<std::vector<Watcher>> watchers_;
};

}  // namespace chat::core
