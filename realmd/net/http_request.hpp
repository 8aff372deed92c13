#pragma once
#include <http_parser.h>

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace realmd {

// A request head's largest size; a longer one is refused (431) without reading further.
inline constexpr std::size_t max_http_head_bytes = 8 * 1024;

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string target;
  unsigned version_minor = 1;  // HTTP/1.<minor>
  // Names in lower case; a repeated header's values joined by ", " (RFC 9110 §5.3).
  std::map<std::string, std::string, std::less<>> headers;
  bool keep_alive = false;  // the client keeps the connection open for another request
  bool upgrade = false;     // Connection: upgrade with an Upgrade header (a WebSocket)

  // The header's value, or "" when absent.
  std::string_view header(std::string_view lowercase_name) const;
};

// Reads HTTP/1.x requests from a byte stream, one at a time, with the http-parser library
// (Debian libhttp-parser-dev; docs/architecture.md says why a library): request line and
// headers, bodies skipped, HTTP/1.0 and 1.1, keep-alive and pipelining, upgrades.
class HttpRequestParser {
 public:
  enum class State {
    incomplete,  // feed more bytes
    complete,    // request() is one whole request; reset() before the next
    error,       // not HTTP: answer 400 and close
    too_large,   // the head passed max_http_head_bytes: answer 431 and close
  };

  HttpRequestParser();
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Parses up to the end of one request; returns the bytes used (the rest is the next
  // request's, or an upgraded connection's first bytes).
  std::size_t feed(std::string_view bytes);
  State state() const { return state_; }
  const HttpRequest& request() const { return request_; }
  // Ready for the next request on the same connection.
  void reset();

 private:
  // Whether `bytes`, the next of the head, hold a CR not followed by LF.
  bool bare_cr_in_head(std::string_view bytes);
  static int on_url(http_parser* parser, const char* at, std::size_t length);
  static int on_header_field(http_parser* parser, const char* at, std::size_t length);
  static int on_header_value(http_parser* parser, const char* at, std::size_t length);
  static int on_headers_complete(http_parser* parser);
  static int on_message_complete(http_parser* parser);
  void finish_header();

  http_parser parser_;
  http_parser_settings settings_;
  State state_ = State::incomplete;
  HttpRequest request_;
  std::size_t head_bytes_ = 0;
  bool headers_done_ = false;
  std::string field_, value_;
  bool in_value_ = false;
  bool invalid_ = false;  // a header name that is not a token
  // The bare-CR scan of the head (see bare_cr_in_head), across feeds.
  bool last_was_cr_ = false;
  int line_ends_in_a_row_ = 0;
  bool head_scanned_ = false;
};

// The status line and headers of a response ("HTTP/1.1 200 OK\r\n...\r\n\r\n") and its body,
// which a HEAD request does not get. Content-Length is always given; Connection says whether
// the connection stays open.
std::string http_response(std::string_view status, std::string_view content_type,
                          std::string_view body, bool head_only, bool keep_alive,
                          std::string_view extra_headers = {});

}  // namespace realmd
