#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/limits.hpp"

// The frames of a realm-to-realm link (PROTOCOL.md §2) and their JSON-line codec.
// A frame is one compact JSON object whose first key is "t" (the frame type); the line
// terminator "\n" belongs to the connection, not to the codec.
namespace chat::federation {

// The handshake version this build speaks (the "v" of hello).
inline constexpr std::uint32_t link_version = 1;

// Each frame struct names its "t" value as `type`.

// {"t":"hello","v":1,"realm":NAME,"nonce":64 hex}
struct Hello {
  static constexpr std::string_view type = "hello";
  std::uint32_t v = link_version;
  std::string realm;
  std::string nonce;
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

// {"t":"msg","id":ORIGIN_ID,"kind":"private"|"group","from":USER,"to":USER_OR_GROUP,"text":..,"time":..}
struct Msg {
  static constexpr std::string_view type = "msg";
  std::uint64_t id = 0;  // unique within the origin realm
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

using Frame = std::variant<Hello, Auth, Msg, Ack, Fetch, Fetched, Ping, Pong>;

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
// an unknown "t", a missing or ill-typed field, a name that is not 1-32 of A-Z a-z 0-9 _ . -,
// a nonce or mac that is not 64 hex digits, a text or error that is not valid UTF-8 or is
// longer than max_text_bytes, a time that is not 1-64 printable ASCII characters.
// Unknown extra fields are ignored: frames may grow.
DecodeResult decode(std::string_view line,
                    std::size_t max_text_bytes = protocol::Limits{}.max_message_bytes);

}  // namespace chat::federation
