#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "net/close_reason.hpp"

namespace realmd {

// How the requests and replies of a Channel look on the wire: "\n"-ended lines over TCP
// (LineWire) or WebSocket text frames (WebSocketWire). The channel keeps the order, the commit
// gate and the limits; the wire format only cuts bytes into requests and wraps replies.
class WireFormat {
 public:
  enum class Status { need_more, request, too_long };

  virtual ~WireFormat() = default;

  // Bytes read from the socket.
  virtual void feed(std::string_view bytes) = 0;
  // The next complete request (its framing removed) into `request`; too_long when the one
  // arriving passed the limit (no further request follows).
  virtual Status next(std::string& request) = 0;
  // Whether bytes of a request not yet complete are held (for the slowloris time limit).
  virtual bool holds_partial_request() const = 0;
  // The bytes that carry one reply; nothing when the format can send no more replies (after a
  // WebSocket close).
  virtual std::optional<std::string> frame(std::string reply) = 0;

  // Bytes the format sends on its own behalf after a feed (a WebSocket pong or close), once.
  virtual std::string take_control_bytes() { return {}; }
  // Set when the peer ended the conversation inside the stream (a WebSocket close frame, a
  // binary or over-long message, a protocol error): no further request follows, and the
  // control bytes say goodbye.
  virtual std::optional<CloseReason> ended() const { return std::nullopt; }
  // What to send last before the channel closes for `reason` (a WebSocket close frame); empty
  // when the format has no such thing or said goodbye already.
  virtual std::string farewell(CloseReason /*reason*/) { return {}; }
};

}  // namespace realmd
