#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "frames/link_frames.hpp"
#include "protocol/limits.hpp"

// The JSON-line codec of a realm-to-realm link's frames (the frames themselves are plain data in
// frames/link_frames.hpp). A frame is one compact JSON object whose first key is "t" (the frame
// type); the line terminator "\n" belongs to the connection, not to the codec.
namespace chat::federation {

// Ids, rids and epochs travel as JSON numbers: at most 2^53 - 1, so that any JSON reader
// (JavaScript's included) holds them exactly. A message id or rid is at least 1; an epoch may
// be 0 (legacy: an outbox entry stored before epochs existed).
inline constexpr std::uint64_t max_wire_number = (std::uint64_t{1} << 53) - 1;

// Which end of the TCP connection a side is; part of every mac (docs/protocol.md §2).
enum class LinkRole { dialer, acceptor };

// The frame's "t" value ("hello", "msg", ...), for logs.
std::string_view type_name(const frames::Frame& frame);

// Compact JSON, "t" first, no newline. Trusts its input: values come from our own realm,
// which validated them when they entered it.
std::string encode(const frames::Frame& frame);

struct DecodeResult {
  std::optional<frames::Frame> frame;  // set when the line is a valid frame
  std::string error;                   // otherwise why not, for the log (never echoes field values)
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
