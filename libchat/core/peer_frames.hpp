#pragma once
#include <cstdint>
#include <string>
#include <variant>

// What realms say to each other once a link is authenticated (PROTOCOL.md §2), as plain
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

using PeerFrame = std::variant<PeerMessage, PeerAck, PeerFetch, PeerFetched>;

struct OutgoingFrame {
  std::string peer;
  PeerFrame frame;
};

}  // namespace chat::core
