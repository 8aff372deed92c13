#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace realmd {

// The little HTTP/1.1 that the web listener speaks before a connection turns into a WebSocket
// (docs/protocol.md §3): GET of the page's files, GET /ws with an Upgrade. Pure functions, so
// that the tests cover them without sockets.

// A request head's largest size; a longer one is refused (431) without reading further.
inline constexpr std::size_t max_http_head_bytes = 8 * 1024;

struct HttpRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string, std::less<>> headers;  // names in lower case

  // The header's value, or "" when absent.
  std::string_view header(std::string_view lowercase_name) const;
};

// Parses a request head: the request line and the header lines, each ended by "\r\n", and the
// empty line. Nothing when it is not HTTP/1.1 of that shape (e.g. a header without a colon).
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
