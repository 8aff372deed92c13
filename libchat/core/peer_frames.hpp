#pragma once
#include <cstdint>
#include <string>
#include <variant>

#include "core/route_table.hpp"

// What realms say to each other once a link is authenticated (docs/contract.md §2), as plain
// data. libchat/federation encodes these as JSON lines; the realm logic only sees these.
namespace chat::core {

struct PeerMessage {
  std::uint64_t id = 0;     // origin id, increasing within one epoch of the origin realm
  std::uint64_t epoch = 0;  // the origin's id sequence (docs/protocol.md §2, epochs)
  bool group = false;    // kind: "group" when true, "private" otherwise
  std::string from;      // user of the origin realm
  std::string to;        // user or group of the receiving realm
  std::string text;
  std::string time;
};

struct PeerAck {
  std::uint64_t id = 0;
  bool ok = true;
  std::string error;  // when !ok: "User tidak ditemukan", "Group tidak ditemukan"
};

// "Send me what you still hold for `user` of my realm", answered by PeerFetched after it.
struct PeerFetch {
  std::uint64_t rid = 0;
  std::string user;
};

struct PeerFetched {
  std::uint64_t rid = 0;
};

// Routing (docs/protocol.md §2, routing). What the sender reaches, replacing what it
// announced before on this link.
struct PeerRoutes {
  Announcement announcement;
};

// A routed message or answer, hop by hop: each hop stores it before it acks (PeerForwardAck
// with the same `id`, the hop's own), then sends it on toward `dest`. The destination takes it
// once per (origin, epoch, seq): `seq` counts the origin's envelopes to that destination in
// that epoch, 1, 2, 3... with no gaps, so that envelopes arriving out of order over changing
// paths are told apart from duplicates.
struct PeerForward {
  std::uint64_t id = 0;     // this hop's own id for the envelope (the ack names it)
  std::string origin;       // the realm that made it
  std::string dest;         // the realm it is for
  std::uint64_t epoch = 0;  // the origin's epoch
  std::uint64_t seq = 0;    // 1.. per (origin, epoch, dest)
  std::uint64_t hops = 0;   // links crossed before this one
  std::string kind;         // "private" | "group" | "answer"
  std::string from;         // message: origin user; answer: the message's target
  std::string to;           // message: user or group at dest; answer: the message's sender
  std::string text;         // message: its text; answer: the error ("" for ok)
  std::string time;
  std::uint64_t oid = 0;       // message: the origin's id; answer: the answered message's origin id
  std::uint64_t re_epoch = 0;  // answer: the answered message's epoch
  std::string about;           // answer: the realm the answered message was for
  std::string sig;             // the origin's Ed25519 signature (128 hex; empty: unsigned)
};

struct PeerForwardAck {
  std::uint64_t id = 0;
};

// getrealminbox across a path: "send me what you hold for `user`", answered by the
// destination with PeerRouteFetched. Forwarded without being stored (best effort).
struct PeerRouteFetch {
  std::uint64_t rid = 0;
  std::string origin;
  std::string dest;
  std::uint64_t hops = 0;
  std::string user;
};

struct PeerRouteFetched {
  std::uint64_t rid = 0;
  std::string origin;
  std::string dest;
  std::uint64_t hops = 0;
};

using PeerFrame = std::variant<PeerMessage, PeerAck, PeerFetch, PeerFetched, PeerRoutes,
                               PeerForward, PeerForwardAck, PeerRouteFetch, PeerRouteFetched>;

struct OutgoingFrame {
  std::string peer;
  PeerFrame frame;
};

}  // namespace chat::core
