#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/limits.hpp"

// The frames of a realm-to-realm link (docs/contract.md §2) and their JSON-line codec.
// A frame is one compact JSON object whose first key is "t" (the frame type); the line
// terminator "\n" belongs to the connection, not to the codec.
namespace chat::federation {

// The handshake version this build speaks (the "v" of hello). Version 1 let a realm sign a
// nonce before it had checked the other side (docs/protocol.md §2): it is refused.
inline constexpr std::uint32_t link_version = 2;

// Ids, rids and epochs travel as JSON numbers: at most 2^53 - 1, so that any JSON reader
// (JavaScript's included) holds them exactly. A message id or rid is at least 1; an epoch may
// be 0 (legacy: an outbox entry stored before epochs existed).
inline constexpr std::uint64_t max_wire_number = (std::uint64_t{1} << 53) - 1;

// Which end of the TCP connection a side is; part of every mac (docs/protocol.md §2).
enum class LinkRole { dialer, acceptor };

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

// What the "to" of a msg names. Wire values: "private" (a user) and "group".
enum class MsgKind { user, group };

// {"t":"msg","id":ORIGIN_ID,"epoch":E,"kind":"private"|"group","from":USER,
//  "to":USER_OR_GROUP,"text":..,"time":..}
struct Msg {
  static constexpr std::string_view type = "msg";
  std::uint64_t id = 0;     // unique within the origin realm's epoch
  std::uint64_t epoch = 0;  // the origin's id sequence the id belongs to
  MsgKind kind = MsgKind::user;
  std::string from;
  std::string to;
  std::string text;
  std::string time;  // the origin realm's timestamp, passed through as is
  bool operator==(const Msg&) const = default;
};

// {"t":"ack","id":ORIGIN_ID,"ok":true} or {"t":"ack","id":..,"ok":false,"error":"..."}
struct Ack {
  static constexpr std::string_view type = "ack";
  std::uint64_t id = 0;
  bool ok = true;
  std::optional<std::string> error;
  bool operator==(const Ack&) const = default;
};

// {"t":"fetch","rid":N,"user":USER}: "send me what you still hold for USER of my realm".
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
  bool via_others = true;
  std::vector<std::vector<std::string>> routes;
  // "keys":{NAME:64 hex,...}: the signing keys the sender holds for the realms it announces.
  std::map<std::string, std::string> keys;
  bool operator==(const Route&) const = default;
};

// {"t":"fwd","id":HOP_ID,"origin":R,"dest":R,"epoch":E,"seq":S,"hops":H,"kind":"private"|
// "group"|"answer","from":U,"to":U,"text":..,"time":..,"oid":ID,"re_epoch":E[,"about":R]}
struct Fwd {
  static constexpr std::string_view type = "fwd";
  std::uint64_t id = 0;
  std::string origin;
  std::string dest;
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
  std::uint64_t hops = 0;
  std::string kind;
  std::string from;
  std::string to;
  std::string text;  // an answer's error ("" when ok)
  std::string time;
  std::uint64_t oid = 0;
  std::uint64_t re_epoch = 0;
  std::string about;  // answers only
  std::string sig;    // "sig": the origin's Ed25519 signature, 128 hex digits (absent: unsigned)
  bool operator==(const Fwd&) const = default;
};

// {"t":"fack","id":HOP_ID}: the hop stored the fwd (custody passed).
struct Fack {
  static constexpr std::string_view type = "fack";
  std::uint64_t id = 0;
  bool operator==(const Fack&) const = default;
};

// {"t":"rfetch","rid":N,"origin":R,"dest":R,"hops":H,"user":U} and
// {"t":"rfetched","rid":N,"origin":R,"dest":R,"hops":H}: fetch / fetched across a path.
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

using Frame = std::variant<Hello, Auth, Msg, Ack, Fetch, Fetched, Ping, Pong, Route, Fwd, Fack,
                           RFetch, RFetched>;

// The frame's "t" value ("hello", "msg", ...), for logs.
std::string_view type_name(const Frame& frame);

// Compact JSON, "t" first, no newline. Trusts its input: values come from our own realm,
// which validated them when they entered it.
std::string encode(const Frame& frame);

struct DecodeResult {
  std::optional<Frame> frame;  // set when the line is a valid frame
  std::string error;           // otherwise why not, for the log (never echoes field values)
  bool ok() const { return frame.has_value(); }
};

// Parses one line (without its "\n"). Rejects: invalid UTF-8, malformed JSON, a non-object,
// an unknown "t", a missing or ill-typed field, an id or rid outside 1..2^53-1, an epoch
// over 2^53-1, a name that is not 1-32 of A-Z a-z 0-9 _ . -,
// a nonce or mac that is not 64 hex digits, a text or error that is not valid UTF-8 or is
// longer than max_text_bytes, a time that is not 1-64 printable ASCII characters.
// Unknown extra fields are ignored: frames may grow.
DecodeResult decode(std::string_view line,
                    std::size_t max_text_bytes = protocol::Limits{}.max_message_bytes);

}  // namespace chat::federation
