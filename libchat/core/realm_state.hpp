#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/peer_state.hpp"
#include "core/routing_state.hpp"
#include "store/records.hpp"

// The realm's data in memory: users, groups, unread inboxes, sessions. Pure data with small
// invariant-keeping operations; no I/O. The store holds the durable copy (docs/design.md §4).
namespace chat::core {

using Clock = std::chrono::steady_clock;

// Transparent hashing so lookups by string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

struct User {
  store::UserRecord record;
  int open_connections = 0;  // connections with a session of this user bound: "online"
};

struct Group {
  std::vector<std::string> members;  // join order
  StringSet member_set;
};

struct InboxMessage {
  store::MessageRecord record;
  bool reserved = false;  // in a reply that is not yet written (see Realm::reply_written)
};

// A user's unread messages, by the realm they came from, each ordered by id (oldest first).
struct Inbox {
  StringMap<std::map<std::uint64_t, InboxMessage>> by_realm;
};

// A conversation in history (core/history.hpp): its newest message and how many it holds
// (an upper bound once age pruning has run: only the count retention uses it).
struct Conversation {
  std::uint64_t last_id = 0;
  std::string last_time;
  std::uint64_t count = 0;
};

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

// Failed-auth bookkeeping for one username (per-connection counters live on the Connection).
struct AuthFailures {
  std::deque<Clock::time_point> recent;
  Clock::time_point locked_until{};
};

// What this realm remembers of one (origin realm, epoch) to take each message exactly once.
struct EpochDedup {
  std::uint64_t seen = 0;     // highest origin id handled: the durable dedup mark
  std::uint64_t touched = 0;  // this realm's last id when the mark last moved (age order)
  // Ids this realm refused, with the error given (newest ones only; see Realm::peer_frame):
  // a retransmission of one is refused again.
  std::map<std::uint64_t, std::string> refused;
};

// Epochs of one origin kept at most; the least recently used goes first. A realm changes
// epoch at every start, and sends an old epoch's messages only while they wait in its outbox,
// which it replays first on every link: an epoch still in use is always among the newest.
inline constexpr std::size_t max_epochs_per_origin = 64;

class RealmState {
 public:
  // --- users ---
  const User* find_user(std::string_view name) const;
  User* find_user(std::string_view name);
  void add_user(store::UserRecord record);

  // --- groups ---
  const Group* find_group(std::string_view name) const;
  void add_group(std::string_view name);
  void add_member(std::string_view group, std::string_view user);  // group must exist

  // --- messages ---
  std::uint64_t next_id() { return ++last_id_; }
  std::uint64_t last_id() const { return last_id_; }
  void set_last_id(std::uint64_t id) { last_id_ = std::max(last_id_, id); }
  // Adds a message to its recipient's unread inbox; returns it for announcing.
  const InboxMessage& add_unread(store::MessageRecord record);
  // Reserves one unread message for a push (false if it is gone or reserved already).
  bool reserve(const store::MessageRecord& message);
  // Unread, unreserved messages of `user` that came from `realm`, oldest first; at most
  // `max_bytes` of text (but at least one message). Reserves what it returns.
  std::vector<const InboxMessage*> reserve_unread(std::string_view user, std::string_view realm,
                                                  std::size_t max_bytes);
  void release(const std::vector<std::uint64_t>& ids);         // reply lost: fetchable again
  void remove_fetched(const std::vector<std::uint64_t>& ids);  // reply written
  // Every unread message of `user` (reserved ones too), in no particular order.
  std::vector<const store::MessageRecord*> unread_messages(std::string_view user) const;

  // --- conversations (the list; the messages themselves are in the store) ---
  // Counts one more message of conversation `key`; true when it is the conversation's first.
  bool note_conversation_message(const std::string& key, std::uint64_t id, std::string_view time);
  // Restores a conversation from the store at start.
  void load_conversation(const store::ConversationSummary& summary);
  // `user` takes part in user/realm conversation `key` (group ones go by membership).
  void add_participant(std::string_view user, const std::string& key);
  const Conversation* find_conversation(std::string_view key) const;
  const StringSet* private_conversations(std::string_view user) const;
  // Groups `user` is a member of (scans the groups).
  std::vector<std::string_view> groups_of(std::string_view user) const;
  // Retention by count: conversations holding more than `limit` messages are listed in
  // over_limit() (0: no limit).
  void set_conversation_limit(std::uint64_t limit);
  StringSet& over_limit() { return over_limit_; }
  Conversation* find_conversation(std::string_view key);
  // The store finds history messages by conversation once indexed (store::IndexHistory);
  // until then their ids are kept here, per conversation.
  std::uint64_t history_indexed_up_to() const { return history_indexed_up_to_; }
  void set_history_indexed_up_to(std::uint64_t id) { history_indexed_up_to_ = id; }
  // The newest `count` not yet indexed ids of `key` below `before` (0: no bound), ascending.
  std::vector<std::uint64_t> unindexed_ids(std::string_view key, std::uint64_t before,
                                           std::size_t count) const;
  // Forgets up to `max` of the oldest unindexed ids (they are being indexed); returns the
  // highest one forgotten, or nothing when none was waiting.
  std::optional<std::uint64_t> take_unindexed(std::size_t max);
  std::size_t unindexed_count() const { return unindexed_.size(); }

  // --- sessions, by session_key(token); the store keeps them too, so a restart does not end
  // them (docs/protocol.md "Sessions") ---
  // Returns the key of the session it ended to stay within max_sessions_per_user, if any.
  std::optional<std::string> add_session(const std::string& key, std::string user,
                                         Clock::time_point now);
  Session* find_session(std::string_view key);
  // Ends the session: connections bound to it no longer count as online, and their watches
  // end (a push after that would mark the owner's messages read for a stranger). False: there
  // was none.
  bool end_session(std::string_view key);
  // A connection was bound to / unbound from a live session (counts toward `online`).
  void bind_connection(const std::string& key);
  void unbind_connection(const std::string& key);

  // --- connections watching their user's new messages (`watch`) ---
  void add_watcher(const std::string& user, std::uint64_t connection,
                   const std::string& session_key);
  void remove_watcher(const std::string& user, std::uint64_t connection);
  const std::vector<Watcher>* watchers(std::string_view user) const;

  // --- failed auths per username ---
  // Per username (all addresses: the slow-down) and per (username, address) (the lockout).
  AuthFailures& auth_failures(std::string_view username);
  AuthFailures& auth_failures(std::string_view username, std::string_view address,
                              Clock::time_point now, Clock::duration window);

  // --- peers, outbox and dedup (federation) ---
  Peer* find_peer(std::string_view name);
  const Peer* find_peer(std::string_view name) const;
  Peer& add_peer(std::string name);
  std::vector<const Peer*> peers() const;  // by name
  // The dedup state of (origin, epoch), made empty on first use.
  EpochDedup& dedup(std::string_view origin, std::uint64_t epoch);
  // Every epoch of `origin` this realm keeps dedup state for.
  std::map<std::uint64_t, EpochDedup>& dedup_of(std::string_view origin);
  std::size_t epochs_kept(std::string_view origin) const;

  // --- routing: the route table and the envelopes in this realm's custody ---
  Routing& routing() { return routing_; }
  const Routing& routing() const { return routing_; }

  // --- replies waiting for a peer ---
  std::uint64_t add_waiter(Waiter waiter);
  std::optional<Waiter> take_waiter(std::uint64_t id);  // removes it
  const Waiter* find_waiter(std::uint64_t id) const;
  // The waiter (if any) for an ack of outbox id `id`.
  std::optional<std::uint64_t> ack_waiter(std::uint64_t id) const;
  std::uint64_t next_rid() { return ++last_rid_; }
  // Waiters of one peer and kind, e.g. to complete them all when the link drops.
  std::vector<std::uint64_t> waiters_of(std::string_view peer, Waiter::Kind kind) const;

 private:
  StringMap<User> users_;
  StringMap<Group> groups_;
  StringMap<Inbox> inboxes_;
  std::unordered_map<std::uint64_t, std::pair<std::string, std::string>>
      reserved_;  // id -> (user, realm)
  StringMap<Conversation> conversations_;
  StringMap<StringSet> private_conversations_;  // user -> keys of user/realm conversations
  std::uint64_t conversation_limit_ = 0;
  StringSet over_limit_;
  std::uint64_t history_indexed_up_to_ = 0;
  // (id, conversation), by id; the key lives in conversations_ (never erased: it stays put).
  std::deque<std::pair<std::uint64_t, const std::string*>> unindexed_;
  StringMap<std::deque<std::uint64_t>> unindexed_by_conversation_;
  StringMap<Session> sessions_;
  StringMap<std::deque<std::string>> sessions_by_user_;  // oldest first, for the per-user cap
  StringMap<AuthFailures> auth_failures_;
  StringMap<AuthFailures> auth_failures_by_address_;  // key: username '\0' address
  StringMap<std::vector<Watcher>> watchers_;
  std::uint64_t last_id_ = 0;
  StringMap<Peer> peers_;
  Routing routing_;
  StringMap<std::map<std::uint64_t, EpochDedup>> dedup_;  // origin -> epoch -> state
  std::map<std::uint64_t, Waiter> waiters_;  // by waiter id (few: one per waiting reply)
  std::unordered_map<std::uint64_t, std::uint64_t> ack_waiters_;  // outbox id -> waiter id
  std::uint64_t last_waiter_ = 0;
  std::uint64_t last_rid_ = 0;
};

// Sessions a user may hold at once; the oldest is ended when a new one passes the cap
// (every connection that logs in makes one; token-mode clients may reconnect often).
inline constexpr std::size_t max_sessions_per_user = 32;

// (username, address) failure records kept before the idle ones are swept.
inline constexpr std::size_t max_tracked_auth_addresses = 100000;

}  // namespace chat::core
