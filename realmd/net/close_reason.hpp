#pragma once
#include <string_view>

namespace realmd {

// Why a connection ended; logged once per connection.
enum class CloseReason {
  peer_closed,              // the peer ended its side and every reply was sent
  read_failed,              // reset or other socket error while reading
  write_failed,             // reset or other socket error while writing
  line_too_long,            // a request line passed limits.max_line_bytes
  reply_backlog,            // unsent replies passed limits.max_pending_replies_bytes
  server_busy,              // over limits.max_connections
  server_stopping,          // graceful stop
  requested,                // the command asked for the connection to end after its reply
  linger_timeout,           // the peer did not close after its last reply
  internal_error,           // an exception escaped a handler (a bug): this connection only
  bad_websocket,            // a WebSocket client broke the protocol or sent a binary message
  idle_timeout,             // no request for limits.unauthenticated_idle_ms, without a session
  partial_request_timeout,  // a request begun, not finished for limits.partial_request_ms
  // Realm links only.
  handshake_failed,   // wrong mac, unexpected realm or version, or a frame out of place
  handshake_timeout,  // no authenticated handshake within the time allowed
  bad_frame,          // a line that is not a valid link frame
  keepalive_timeout,  // nothing received for three keepalive periods
  duplicate_link,     // another link to the same realm won (one link per pair of realms)
};

constexpr std::string_view to_string(CloseReason reason) {
  switch (reason) {
    case CloseReason::peer_closed:
      return "peer closed";
    case CloseReason::read_failed:
      return "read failed";
    case CloseReason::write_failed:
      return "write failed";
    case CloseReason::line_too_long:
      return "request line too long";
    case CloseReason::reply_backlog:
      return "too many unsent replies";
    case CloseReason::server_busy:
      return "server busy";
    case CloseReason::server_stopping:
      return "server stopping";
    case CloseReason::requested:
      return "closed by command";
    case CloseReason::linger_timeout:
      return "peer did not close after last reply";
    case CloseReason::internal_error:
      return "internal error";
    case CloseReason::bad_websocket:
      return "WebSocket protocol error or binary message";
    case CloseReason::idle_timeout:
      return "idle without a session";
    case CloseReason::partial_request_timeout:
      return "request not finished in time";
    case CloseReason::handshake_failed:
      return "handshake failed";
    case CloseReason::handshake_timeout:
      return "handshake timeout";
    case CloseReason::bad_frame:
      return "bad frame";
    case CloseReason::keepalive_timeout:
      return "keepalive timeout";
    case CloseReason::duplicate_link:
      return "replaced by another link to the same realm";
  }
  return "unknown";
}

// Ends that a healthy peer causes all the time: logged at debug level, the others at info.
constexpr bool is_routine(CloseReason reason) {
  return reason == CloseReason::peer_closed || reason == CloseReason::server_stopping ||
         reason == CloseReason::duplicate_link;
}

}  // namespace realmd
