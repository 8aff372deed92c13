#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

// The frames of a realm-to-realm link (docs/protocol.md §2) as plain data, in one home at the
// bottom: the realm logic (libchat/core) builds and takes them, libchat/federation encodes them
// as JSON lines and decodes them (federation/frames.hpp) and runs the handshake.
namespace chat::frames {

// The handshake version this build speaks (the "v" of hello). Version 1 let a realm sign a
// nonce before it had checked the other side (docs/protocol.md §2): it is refused.
inline constexpr std::uint32_t link_version = 2;

// What the "to" of a msg or fwd names: a user or a group. A fwd may also be the answer to a
// routed message (`answer`, never in a msg). Wire values: "private", "group", "answer".
enum class MessageKind { user, group, answer };

constexpr std::string_view kind_name(MessageKind kind) {
  constexpr std::string_view names[] = {"private", "group", "answer"};  // in enum order
  return names[static_cast<std::size_t>(kind)];
}

// The kind a wire value names; nothing for any other string.
constexpr std::optional<MessageKind> kind_named(std::string_view name) {
  for (MessageKind kind : {MessageKind::user, MessageKind::group, MessageKind::answer}) {
    if (kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

// Each frame struct names its "t" value as `type`.

// {"t":"hello","v":2,"realm":NAME,"nonce":64 hex,"epoch":E,"max_text":BYTES}
// `epoch` identifies the sender's current id sequence; `max_text` is the longest message text
// the sender takes, so that its peer refuses a longer one itself instead of sending a frame
// that could never be taken (and would block the link). A v1 hello has neither: the decoder
// leaves them 0 and the handshake refuses the version.
struct Hello {
  static constexpr std::string_view type = "hello";
  std::uint32_t v = link_version;
  std::string realm;
  std::string nonce;
  std::uint64_t epoch = 0;
  std::uint64_t max_text = 0;
  bool operator==(const Hello&) const = default;
};

// {"t":"auth","mac":64 hex}
struct Auth {
  static constexpr std::string_view type = "auth";
  std::string mac;
  bool operator==(const Auth&) const = default;
};

// {"t":"msg","id":ORIGIN_ID,"epoch":E,"kind":"private"|"group","from":USER,
//  "to":USER_OR_GROUP,"text":..,"time":..}: a message to a user or group of the linked realm.
struct Msg {
  static constexpr std::string_view type = "msg";
  std::uint64_t id = 0;     // origin id, increasing within one epoch of the origin realm
  std::uint64_t epoch = 0;  // the origin's id sequence (docs/protocol.md §2, epochs)
  MessageKind kind = MessageKind::user;  // user or group, never answer
  std::string from;                      // user of the origin realm
  std::string to;                        // user or group of the receiving realm
  std::string text;
  std::string time;  // the origin realm's timestamp, passed through as is
  bool operator==(const Msg&) const = default;
};

// {"t":"ack","id":ORIGIN_ID,"ok":true} or {"t":"ack","id":..,"ok":false,"error":"..."}
struct Ack {
  static constexpr std::string_view type = "ack";
  std::uint64_t id = 0;
  bool ok = true;
  std::optional<std::string> error;  // when !ok: "User tidak ditemukan", "Group tidak ditemukan"
  bool operator==(const Ack&) const = default;
};

// {"t":"fetch","rid":N,"user":USER}: "send me what you still hold for USER of my realm",
// answered by fetched after it.
struct Fetch {
  static constexpr std::string_view type = "fetch";
  std::uint64_t rid = 0;
  std::string user;
  bool operator==(const Fetch&) const = default;
};

// {"t":"fetched","rid":N}: every msg for fetch N has been sent.
struct Fetched {
  static constexpr std::string_view type = "fetched";
  std::uint64_t rid = 0;
  bool operator==(const Fetched&) const = default;
};

// {"t":"ping"} / {"t":"pong"}: keepalive.
struct Ping {
  static constexpr std::string_view type = "ping";
  bool operator==(const Ping&) const = default;
};
struct Pong {
  static constexpr std::string_view type = "pong";
  bool operator==(const Pong&) const = default;
};

// Routing (docs/protocol.md §2, routing).
// {"t":"route","via_others":B,"routes":[[NAME,...],...]}: every realm the sender reaches, each
// as its path from the sender to it (the sender first, the destination last); it replaces the
// sender's previous announcement. At most max_routes paths of 1..max_path valid names.
struct Route {
  static constexpr std::string_view type = "route";
  bool via_others = true;  // false: the sender must not be announced on (not reached via others)
  std::vector<std::vector<std::string>> routes;
  // "keys":{NAME:64 hex,...}: the signing keys the sender holds for the realms it announces.
  std::map<std::string, std::string> keys;
  bool operator==(const Route&) const = default;
};

// {"t":"fwd","id":HOP_ID,"origin":R,"dest":R,"epoch":E,"seq":S,"hops":H,"kind":"private"|
// "group"|"answer","from":U,"to":U,"text":..,"time":..,"oid":ID,"re_epoch":E[,"about":R]
// [,"sig":128 hex]}: a routed message or answer, hop by hop. Each hop stores it before it acks
// (fack with the same `id`, the hop's own), then sends it on toward `dest`. The destination
// takes it once per (origin, epoch, seq): `seq` counts the origin's envelopes to that
// destination in that epoch, 1, 2, 3... with no gaps, so that envelopes arriving out of order
// over changing paths are told apart from duplicates.
struct Fwd {
  static constexpr std::string_view type = "fwd";
  std::uint64_t id = 0;     // this hop's own id for the envelope (the ack names it)
  std::string origin;       // the realm that made it
  std::string dest;         // the realm it is for
  std::uint64_t epoch = 0;  // the origin's epoch
  std::uint64_t seq = 0;    // 1.. per (origin, epoch, dest)
  std::uint64_t hops = 0;   // links crossed before this one
  MessageKind kind = MessageKind::user;
  std::string from;  // message: origin user; answer: the message's target
  std::string to;    // message: user or group at dest; answer: the message's sender
  std::string text;  // message: its text; answer: the error ("" for ok)
  std::string time;
  std::uint64_t oid = 0;       // message: the origin's id; answer: the answered message's origin id
  std::uint64_t re_epoch = 0;  // answer: the answered message's epoch
  std::string about;           // answer: the realm the answered message was for
  std::string sig;             // the origin's Ed25519 signature (128 hex; empty: unsigned)
  bool operator==(const Fwd&) const = default;
};

// {"t":"fack","id":HOP_ID}: the hop stored the fwd (custody passed).
struct Fack {
  static constexpr std::string_view type = "fack";
  std::uint64_t id = 0;
  bool operator==(const Fack&) const = default;
};

// {"t":"rfetch","rid":N,"origin":R,"dest":R,"hops":H,"user":U} and
// {"t":"rfetched","rid":N,"origin":R,"dest":R,"hops":H}: fetch / fetched across a path,
// forwarded without being stored (best effort).
struct RFetch {
  static constexpr std::string_view type = "rfetch";
  std::uint64_t rid = 0;
  std::string origin;
  std::string dest;
  std::uint64_t hops = 0;
  std::string user;
  bool operator==(const RFetch&) const = default;
};
struct RFetched {
  static constexpr std::string_view type = "rfetched";
  std::uint64_t rid = 0;
  std::string origin;
  std::string dest;
  std::uint64_t hops = 0;
  bool operator==(const RFetched&) const = default;
};

// What the realm logic sends and takes once a link is authenticated: every frame but the
// handshake's (hello, auth) and the keepalive (ping, pong), which the link answers itself.
using PeerFrame = std::variant<Msg, Ack, Fetch, Fetched, Route, Fwd, Fack, RFetch, RFetched>;

// Every frame of a link.
using Frame = std::variant<Hello, Auth, Msg, Ack, Fetch, Fetched, Ping, Pong, Route, Fwd, Fack,
                           RFetch, RFetched>;

// A PeerFrame as a Frame (to encode it).
inline Frame link_frame(PeerFrame frame) {
  return std::visit([](auto&& f) -> Frame { return std::move(f); }, std::move(frame));
}

// The frame as a PeerFrame; nothing for hello, auth, ping and pong.
inline std::optional<PeerFrame> peer_frame(Frame frame) {
  std::optional<PeerFrame> out;
  std::visit(
      [&out](auto&& f) {
        if constexpr (std::is_constructible_v<PeerFrame, decltype(f)>) out.emplace(std::move(f));
      },
      std::move(frame));
  return out;
}

}  // namespace chat::frames
