#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

// What a realm keeps durably (docs/design.md §4). Plain data: the store is a leaf module.
namespace chat::store {

struct UserRecord {
  std::string username;
  std::string password_hash;  // argon2id string from crypto_pwhash_str, never the password
  std::string nama;
  std::string negara;
};

struct GroupRecord {
  std::string name;
  std::vector<std::string> members;  // in join order
};

// One unread message in one recipient's inbox (a group message has one per member). The
// message itself, kept after it is read, is its HistoryRecord.
struct MessageRecord {
  std::uint64_t id = 0;      // this inbox entry's key: unique within this realm
  std::string recipient;     // local username
  std::string sender;        // username (or a realm name for a bounce)
  std::string sender_realm;  // realm of the sender; == own realm for local messages
  std::string group;         // empty for a private message
  std::string text;
  std::string time;  // RFC 3339 UTC, e.g. 2026-11-26T22:33:16Z
  bool bounce = false;
  // The message's id in history, which clients see: a group message has one for all its
  // members' entries. 0: the same as `id` (a private message, or a row from schema 2).
  std::uint64_t history_id = 0;

  std::uint64_t shown_id() const { return history_id != 0 ? history_id : id; }
  bool operator==(const MessageRecord&) const = default;
};

// One message of one conversation, kept after it is read for `history` (docs/protocol.md):
// a group message once, not once per member; the sender's copy of a message sent to another
// realm (stored when that realm acked it). Pruned only by the retention (PruneHistory,
// TrimConversation).
struct HistoryRecord {
  std::uint64_t id = 0;  // the id clients see; unique within this realm
  // Opaque to the store: which conversation the message belongs to (core builds the key).
  std::string conversation;
  std::string sender;
  std::string sender_realm;
  std::string recipient;  // a username, or the group's name for a group message
  std::string group;      // empty for a private message
  std::string text;
  std::string time;  // RFC 3339 UTC
  bool bounce = false;

  bool operator==(const HistoryRecord&) const = default;
};

// A page of one conversation: the newest `limit` messages with id < `before` (0: no bound),
// oldest first; `more` says whether older ones exist.
//
// A store may find a conversation's messages through an index it builds in bulk (IndexHistory)
// rather than at every PutHistory. Then the caller says what is not indexed yet: every message
// of the conversation with an id above `indexed_up_to` (and below `before`) is in `recent`,
// ascending, at most the newest limit + 1 of them. A store that indexes at once ignores both.
struct HistoryQuery {
  std::string conversation;
  std::uint64_t before = 0;
  std::size_t limit = 50;
  std::uint64_t indexed_up_to = UINT64_MAX;
  std::vector<std::uint64_t> recent;
};
struct HistoryPage {
  std::vector<HistoryRecord> messages;
  bool more = false;
};

// The newest message of a conversation, and how many it holds (load(): the conversation list
// and the retention by count start from these).
struct ConversationSummary {
  std::string conversation;
  std::uint64_t last_id = 0;
  std::string last_time;
  std::uint64_t count = 0;

  bool operator==(const ConversationSummary&) const = default;
};

// A cross-realm message waiting for the peer's ack.
struct OutboxRecord {
  std::uint64_t id = 0;     // origin id: unique within this realm, increasing
  std::uint64_t epoch = 0;  // the realm's epoch when the message was made (0: before epochs)
  std::string peer;         // destination realm
  std::string kind;         // "private" | "group"
  std::string sender;       // local username
  std::string target;       // user or group in the destination realm
  std::string text;
  std::string time;
  // A routed message or answer (docs/protocol.md §2, routing): its envelope, written and read
  // only by core (core/routing.hpp). Empty for a message to a direct peer.
  std::string route;
};

// A peer added at run time by `addrealm NAME HOST PORT`.
struct PeerRecord {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
};

// A message from `origin` this realm refused (ack ok:false) and the error it gave: a
// retransmission of it, below the dedup mark, is refused again rather than acked ok.
struct RefusedRecord {
  std::string origin;
  std::uint64_t epoch = 0;
  std::uint64_t id = 0;
  std::string error;

  bool operator==(const RefusedRecord&) const = default;
};

// A live session (docs/protocol.md "Sessions"): the SHA-256 of its token, hex, never the token
// itself, so that a copy of the store gives nobody a live token.
struct SessionRecord {
  std::string token_hash;
  std::string user;

  bool operator==(const SessionRecord&) const = default;
};

// The signing key pinned for another realm (docs/protocol.md §2, trust): the first one learnt
// for a realm is kept for good.
struct PinRecord {
  std::string realm;
  std::string public_key;  // Ed25519, 64 hex digits

  bool operator==(const PinRecord&) const = default;
};

// Mutations: one durable change each. A batch of them commits in one transaction.
struct PutUser {
  UserRecord user;
};
struct PutGroup {
  std::string name;
};
struct PutMember {
  std::string group;
  std::string user;
};
struct PutMessage {
  MessageRecord message;
};
// One group message in the inboxes of its members: a row per delivery, each with the delivery's
// id and recipient and everything else from `message` (whose own id and recipient are unused).
// One mutation instead of a PutMessage per member: the text and time are held once, not copied
// 99 times into mutations the commit thread then frees (docs/performance.md "sendgroup").
struct GroupDelivery {
  std::uint64_t id = 0;
  std::string recipient;
};
struct PutGroupMessage {
  MessageRecord message;
  std::vector<GroupDelivery> deliveries;
};
// Inbox entries (MessageRecord ids) whose reply was written: they leave the inbox; the
// messages stay in history.
struct MarkFetched {
  std::vector<std::uint64_t> ids;
};
struct PutOutbox {
  OutboxRecord entry;
};
struct DeleteOutbox {
  std::string peer;
  std::uint64_t id = 0;
};
// The dedup mark of one (origin realm, epoch): the highest origin id received in that epoch
// (ids arrive in increasing order per link, so one number per epoch is the whole dedup set;
// see docs/architecture.md). `touched` orders marks by last use (this realm's own id counter
// when the mark last moved), so that only the oldest are forgotten.
struct SeenRecord {
  std::string origin;
  std::uint64_t epoch = 0;
  std::uint64_t id = 0;
  std::uint64_t touched = 0;

  bool operator==(const SeenRecord&) const = default;
};
struct PutSeen {
  SeenRecord seen;
};  // replaces the row of the same (origin, epoch)
// Two marks of one (origin, epoch) in a batch, merged into `mark` as storing them one after the
// other leaves the row: the highest id, the later touch. The stores write a batch's marks once
// each (a realm link's batch carries one per message).
inline void merge_later_mark(SeenRecord& mark, const SeenRecord& later) {
  mark.id = std::max(mark.id, later.id);
  mark.touched = later.touched;
}
// Forgets the mark of one (origin, epoch) and its refusals.
struct DeleteSeen {
  std::string origin;
  std::uint64_t epoch = 0;
};
struct PutPeer {
  PeerRecord peer;
};
struct PutRefused {
  RefusedRecord refused;
};  // replaces the row of the same (origin, id)
// Forgets the refusals from (`origin`, `epoch`) with id <= up_to (only the newest are needed).
struct DeleteRefused {
  std::string origin;
  std::uint64_t epoch = 0;
  std::uint64_t up_to = 0;
};

struct PutSession {
  SessionRecord session;
};
// Ends a session (logout, or the per-user cap evicted it); no-op when it is gone.
struct DeleteSession {
  std::string token_hash;
};

// Pins a signing key; no-op when the realm has one pinned already (the first pin wins).
struct PutPin {
  PinRecord pin;
};

// Adds one message to history.
struct PutHistory {
  HistoryRecord message;
};
// Makes the history messages with ids up to `up_to` findable by conversation (with
// HistoryQuery::indexed_up_to). History ids are handed out in the order messages are stored,
// so each pass covers the ids after the previous one. SqliteStore indexes here, in bulk and
// sorted by conversation, rather than at every PutHistory: an index insert per message touches
// a page of its own per conversation, which cost a send 3x its CPU (docs/performance.md). A
// store that indexes at PutHistory does nothing here.
struct IndexHistory {
  std::uint64_t up_to = 0;
};
// Retention by age, one bounded pass: of the `scan` oldest messages in history (by id), those
// with time < `older_than` (RFC 3339 UTC) are deleted. Ids grow with time, so the oldest are
// where expired ones are; looking at no more than `scan` rows keeps each pass short.
struct PruneHistory {
  std::string older_than;
  std::size_t scan = 0;
};
// Retention by count: keeps the newest `keep` messages of the conversation, deletes the rest.
struct TrimConversation {
  std::string conversation;
  std::size_t keep = 0;
};

using Mutation =
    std::variant<PutUser, PutGroup, PutMember, PutMessage, PutGroupMessage, MarkFetched, PutOutbox,
                 DeleteOutbox, PutSeen, DeleteSeen, PutPeer, PutRefused, DeleteRefused, PutSession,
                 DeleteSession, PutHistory, IndexHistory, PruneHistory, TrimConversation, PutPin>;

// Whether a mutation's cost is bounded by a row or two (false) or is bulk work over many rows
// (true: indexing a slice of history, a retention pass, a conversation's trim), so that realmd
// never commits bulk work on its event loop (realmd/commit_queue.hpp).
inline bool is_bulk(const Mutation& mutation) {
  return std::holds_alternative<IndexHistory>(mutation) ||
         std::holds_alternative<PruneHistory>(mutation) ||
         std::holds_alternative<TrimConversation>(mutation);
}

// Everything load() restores at start.
struct Snapshot {
  std::vector<UserRecord> users;
  std::vector<GroupRecord> groups;
  std::vector<MessageRecord> unread;  // not yet fetched, by id ascending
  std::vector<OutboxRecord> outbox;   // by id ascending
  std::vector<SeenRecord> seen;       // by origin, then touched
  std::vector<PeerRecord> peers;
  std::vector<RefusedRecord> refused;   // by origin, epoch, then id ascending
  std::vector<SessionRecord> sessions;  // in the order they were created
  std::vector<PinRecord> pins;          // in the order they were pinned
  // Every conversation in history, any order. load() indexes what an earlier run left
  // unindexed: afterwards every message up to max_id is findable by conversation.
  std::vector<ConversationSummary> conversations;
  std::uint64_t max_id = 0;  // highest message/outbox id ever used (0 if none)
  // Whether the store finds a history message by conversation as soon as it is stored, so
  // that IndexHistory does nothing and HistoryQuery::recent is not needed (MemoryStore,
  // PostgresStore); SqliteStore indexes in bulk.
  bool history_indexed_as_stored = false;
};

}  // namespace chat::store
