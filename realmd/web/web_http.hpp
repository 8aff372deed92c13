#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "net/http_request.hpp"

namespace realmd {

// The little HTTP that the web listener speaks before a connection turns into a WebSocket
// (docs/protocol.md §3): GET and HEAD of the page's files (HTTP/1.0 or 1.1), GET /ws with an
// Upgrade (HTTP/1.1). Pure functions, so that the tests cover them without sockets.

// Parses one request head (request line, headers, empty line) with HttpRequestParser; nothing
// when it is not HTTP/1.x.
std::optional<HttpRequest> parse_http_request(std::string_view head);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2): base64(SHA-1(key + GUID)).
std::string websocket_accept_key(std::string_view key);

// What the web listener answers to one request.
struct HttpAnswer {
  std::string response;  // the whole response: status line, headers, body
  bool upgrade = false;  // true: a 101; the connection is a WebSocket from now on
};
HttpAnswer answer_http_request(const HttpRequest& request);
// The answer to a head that did not parse (400) or did not fit max_http_head_bytes (431).
HttpAnswer answer_bad_request();
HttpAnswer answer_head_too_large();

}  // namespace realmd
