#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

// What a realm keeps durably (DESIGN.md §4). Plain data: the store is a leaf module.
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

// One delivered message in one recipient's inbox (a group message is stored once per member).
struct MessageRecord {
  std::uint64_t id = 0;      // unique within this realm
  std::string recipient;     // local username
  std::string sender;        // username (or a realm name for a bounce)
  std::string sender_realm;  // realm of the sender; == own realm for local messages
  std::string group;         // empty for a private message
  std::string text;
  std::string time;  // RFC 3339 UTC, e.g. 2026-11-26T22:33:16Z
  bool bounce = false;
};

// A cross-realm message waiting for the peer's ack.
struct OutboxRecord {
  std::uint64_t id = 0;     // origin id: unique within this realm, increasing
  std::uint64_t epoch = 0;  // the realm's epoch when the message was made (0: before epochs)
  std::string peer;      // destination realm
  std::string kind;      // "private" | "group"
  std::string sender;    // local username
  std::string target;    // user or group in the destination realm
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

using Mutation = std::variant<PutUser, PutGroup, PutMember, PutMessage, MarkFetched, PutOutbox,
                              DeleteOutbox, PutSeen, DeleteSeen, PutPeer, PutRefused, DeleteRefused>;

// Everything load() restores at start.
struct Snapshot {
  std::vector<UserRecord> users;
  std::vector<GroupRecord> groups;
  std::vector<MessageRecord> unread;                        // not yet fetched, by id ascending
  std::vector<OutboxRecord> outbox;                         // by id ascending
  std::vector<SeenRecord> seen;                             // by origin, then touched
  std::vector<PeerRecord> peers;
  std::vector<RefusedRecord> refused;  // by origin, epoch, then id ascending
  std::uint64_t max_id = 0;            // highest message/outbox id ever used (0 if none)
};

}  // namespace chat::store
