// The web listener's HTTP side without sockets: request heads, the WebSocket accept key, and
// the answer to each kind of request.
#include "web/web_http.hpp"

#include <doctest/doctest.h>

#include <string>

#include "web/web_origin.hpp"
#include "web/web_socket_wire.hpp"

using realmd::answer_http_request;
using realmd::parse_http_request;

namespace {

realmd::HttpRequest parsed(const std::string& head) {
  const auto request = parse_http_request(head);
  REQUIRE(request.has_value());
  return *request;
}

const std::string upgrade_head =
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

std::string status_line(const realmd::HttpAnswer& answer) {
  return answer.response.substr(0, answer.response.find("\r\n"));
}

}  // namespace

TEST_CASE("the accept key is RFC 6455's own example") {
  CHECK(realmd::websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("a request head parses into method, target and lower-case headers") {
  const auto request =
      parsed("GET /app.js?v=2 HTTP/1.1\r\nHost: x\r\nX-Thing:  padded value \r\n\r\n");
  CHECK(request.method == "GET");
  CHECK(request.target == "/app.js?v=2");
  CHECK(request.header("host") == "x");
  CHECK(request.header("x-thing") == "padded value");
  CHECK(request.header("absent") == "");
}

TEST_CASE("malformed heads do not parse") {
  CHECK_FALSE(parse_http_request("GET / HTTP/1.1\r\nHost: x\r\n"));          // no empty line
  CHECK_FALSE(parse_http_request("GET / HTTP/2.0\r\n\r\n"));                 // not HTTP/1.x
  CHECK_FALSE(parse_http_request("GET/HTTP/1.1\r\n\r\n"));                   // no spaces
  CHECK_FALSE(parse_http_request("GET / x HTTP/1.1\r\n\r\n"));               // space in target
  CHECK_FALSE(parse_http_request("GET / HTTP/1.1\r\nNo colon\r\n\r\n"));     // header without ':'
  CHECK_FALSE(parse_http_request("GET / HTTP/1.1\r\nBad name: x\r\n\r\n"));  // space in name
  CHECK_FALSE(parse_http_request("GET / HTTP/1.1\r\n: x\r\n\r\n"));          // empty name
}

TEST_CASE("HTTP/1.0, bare line feeds and repeated headers are HTTP too") {
  const auto old = parsed("GET / HTTP/1.0\r\n\r\n");
  CHECK(old.version_minor == 0);
  CHECK_FALSE(old.keep_alive);  // 1.0 closes unless asked
  CHECK(parsed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  CHECK(parsed("GET / HTTP/1.1\r\n\r\n").keep_alive);  // 1.1 keeps unless asked
  CHECK_FALSE(parsed("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
  // RFC 9112 §2.2: a recipient may take a bare LF for a line end.
  CHECK(parsed("GET / HTTP/1.1\nHost: x\n\n").header("host") == "x");
  // RFC 9110 §5.3: repeated fields are one list.
  const auto repeated = parsed("GET / HTTP/1.1\r\nAccept: a\r\nX: 1\r\naccept: b\r\n\r\n");
  CHECK(repeated.header("accept") == "a, b");
  CHECK(repeated.header("x") == "1");
  // Empty elements are no elements (found by fuzz_web_http: ", " did not survive a round trip).
  CHECK(parsed("GET / HTTP/1.1\r\nA:\r\nA: one\r\nA:\r\nA: two\r\n\r\n").header("a") == "one, two");
  // Control characters in a value are not HTTP (http-parser alone let DEL through in a
  // folded line); a folded line is one value without its line break.
  CHECK_FALSE(parse_http_request("GET / HTTP/1.1\r\nA: x\x7fy\r\n\r\n"));
  CHECK_FALSE(parse_http_request("GET / HTTP/1.1\r\nA: x,\r\n \x7fy\r\n\r\n"));
  const std::string folded(parsed("GET / HTTP/1.1\r\nA: x,\r\n y\r\n\r\n").header("a"));
  CHECK(folded.starts_with("x,"));
  CHECK(folded.ends_with("y"));
  CHECK(folded.find_first_of("\r\n") == std::string::npos);
}

TEST_CASE("HttpRequestParser: bytes in any pieces, pipelined requests one at a time") {
  using State = realmd::HttpRequestParser::State;
  realmd::HttpRequestParser parser;
  const std::string two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n";
  std::size_t used = 0;
  for (std::size_t i = 0; i < two.size() && parser.state() == State::incomplete; ++i) {
    used += parser.feed(std::string_view(two).substr(i, 1));  // a byte at a time
  }
  REQUIRE(parser.state() == State::complete);
  CHECK(parser.request().target == "/a");
  CHECK(used == two.find("HEAD"));
  parser.reset();
  CHECK(parser.feed(std::string_view(two).substr(used)) == two.size() - used);
  REQUIRE(parser.state() == State::complete);
  CHECK(parser.request().method == "HEAD");
  CHECK(parser.request().target == "/b");
  parser.reset();
  parser.feed("GET / HTTP/1.1\r\nX: " + std::string(realmd::max_http_head_bytes, 'x'));
  CHECK(parser.state() == State::too_large);
  parser.reset();
  parser.feed("\x16\x03\x01 TLS, not HTTP\r\n\r\n");
  CHECK(parser.state() == State::error);
}

TEST_CASE("HEAD gets GET's headers without the body") {
  const auto get = answer_http_request(parsed("GET /style.css HTTP/1.1\r\n\r\n"));
  const auto head = answer_http_request(parsed("HEAD /style.css HTTP/1.0\r\n\r\n"));
  CHECK(status_line(head) == "HTTP/1.1 200 OK");
  CHECK(head.response == get.response.substr(0, get.response.find("\r\n\r\n") + 4));
  CHECK(status_line(answer_http_request(parsed("HEAD /nothing HTTP/1.1\r\n\r\n"))) ==
        "HTTP/1.1 404 Not Found");
  CHECK(
      answer_http_request(parsed("HEAD /nothing HTTP/1.1\r\n\r\n")).response.ends_with("\r\n\r\n"));
}

TEST_CASE("the page's files are served with their types") {
  const auto page = answer_http_request(parsed("GET / HTTP/1.1\r\n\r\n"));
  CHECK_FALSE(page.upgrade);
  CHECK(status_line(page) == "HTTP/1.1 200 OK");
  CHECK(page.response.find("Content-Type: text/html; charset=utf-8\r\n") != std::string::npos);
  CHECK(page.response.find("<script src=\"/app.js\"></script>") != std::string::npos);
  const auto script = answer_http_request(parsed("GET /app.js?v=1 HTTP/1.1\r\n\r\n"));
  CHECK(status_line(script) == "HTTP/1.1 200 OK");
  CHECK(script.response.find("Content-Type: text/javascript; charset=utf-8\r\n") !=
        std::string::npos);
  const auto style = answer_http_request(parsed("GET /style.css HTTP/1.1\r\n\r\n"));
  CHECK(style.response.find("Content-Type: text/css; charset=utf-8\r\n") != std::string::npos);
  // Content-Length is the body's size.
  const std::size_t body = style.response.find("\r\n\r\n") + 4;
  CHECK(style.response.find("Content-Length: " + std::to_string(style.response.size() - body) +
                            "\r\n") != std::string::npos);
}

TEST_CASE("other requests get 404 and 405") {
  CHECK(status_line(answer_http_request(parsed("GET /etc/passwd HTTP/1.1\r\n\r\n"))) ==
        "HTTP/1.1 404 Not Found");
  CHECK(status_line(answer_http_request(parsed("GET /../app.js HTTP/1.1\r\n\r\n"))) ==
        "HTTP/1.1 404 Not Found");
  const auto post = answer_http_request(parsed("POST / HTTP/1.1\r\n\r\n"));
  CHECK(status_line(post) == "HTTP/1.1 405 Method Not Allowed");
  CHECK(post.response.find("Allow: GET, HEAD\r\n") != std::string::npos);
  CHECK(status_line(realmd::answer_bad_request()) == "HTTP/1.1 400 Bad Request");
  CHECK(status_line(realmd::answer_head_too_large()) ==
        "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_CASE("GET /ws with the upgrade headers switches protocols") {
  const auto answer = answer_http_request(parsed(upgrade_head));
  CHECK(answer.upgrade);
  CHECK(answer.response ==
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
}

TEST_CASE("GET /ws without a valid upgrade is refused") {
  const auto replace = [](std::string head, const std::string& from, const std::string& to) {
    head.replace(head.find(from), from.size(), to);
    return head;
  };
  const auto answer_to = [](const std::string& head) { return answer_http_request(parsed(head)); };
  const auto plain = answer_to("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_FALSE(plain.upgrade);
  CHECK(status_line(plain) == "HTTP/1.1 400 Bad Request");
  CHECK(status_line(answer_to(replace(upgrade_head, "keep-alive, Upgrade", "keep-alive"))) ==
        "HTTP/1.1 400 Bad Request");
  CHECK(status_line(answer_to(replace(upgrade_head, "dGhlIHNhbXBsZSBub25jZQ==", "short"))) ==
        "HTTP/1.1 400 Bad Request");
  const auto old_version = answer_to(replace(upgrade_head, "Version: 13", "Version: 8"));
  CHECK_FALSE(old_version.upgrade);
  CHECK(status_line(old_version) == "HTTP/1.1 426 Upgrade Required");
  CHECK(old_version.response.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos);
}

namespace {

// A client frame (masked, as clients must send them) with the given first byte.
std::string client_frame(unsigned char first, const std::string& payload) {
  std::string frame(1, static_cast<char>(first));
  if (payload.size() < 126) {
    frame += static_cast<char>(0x80 | payload.size());
  } else {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(payload.size() >> 8);
    frame += static_cast<char>(payload.size() & 0xff);
  }
  const std::string mask = "\x01\x02\x03\x04";
  frame += mask;
  for (std::size_t i = 0; i < payload.size(); ++i)
    frame += static_cast<char>(payload[i] ^ mask[i % 4]);
  return frame;
}

}  // namespace

TEST_CASE("WebSocketWire knows when a message has begun and not ended (the slowloris limit)") {
  realmd::WebSocketWire wire(1 << 20, "");
  CHECK_FALSE(wire.holds_partial_request());
  // A long text frame (16-bit length) fed a byte at a time: partial until its last byte.
  const std::string text(300, 'a');
  const std::string whole = client_frame(0x81, text);
  for (std::size_t i = 0; i + 1 < whole.size(); ++i) {
    wire.feed(whole.substr(i, 1));
    CHECK(wire.holds_partial_request());
  }
  wire.feed(whole.substr(whole.size() - 1));
  CHECK_FALSE(wire.holds_partial_request());
  std::string request;
  REQUIRE(wire.next(request) == realmd::WireFormat::Status::request);
  CHECK(request == text);

  // A message in fragments stays begun between them, across a ping in the middle.
  wire.feed(client_frame(0x01, "in"));  // text, not FIN
  CHECK(wire.holds_partial_request());
  wire.feed(client_frame(0x89, "p"));  // ping
  CHECK(wire.holds_partial_request());
  wire.feed(client_frame(0x80, "fo"));  // continuation, FIN
  CHECK_FALSE(wire.holds_partial_request());
  REQUIRE(wire.next(request) == realmd::WireFormat::Status::request);
  CHECK(request == "info");

  // A whole frame and the start of the next in one read: the second one is begun.
  wire.feed(client_frame(0x81, "inbox") + client_frame(0x81, "inbox").substr(0, 3));
  CHECK(wire.holds_partial_request());
}

TEST_CASE("WebSocket origins: none, the page's own and the configured ones; nothing else") {
  const auto with_origin = [](const std::string& origin) {
    return parsed("GET /ws HTTP/1.1\r\nHost: chat.local:8080\r\nOrigin: " + origin + "\r\n\r\n");
  };
  const std::vector<std::string> none;
  const std::vector<std::string> proxy = {"https://chat.example.org"};
  CHECK(realmd::websocket_origin_allowed(parsed("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"), none));
  CHECK(realmd::websocket_origin_allowed(with_origin("http://chat.local:8080"), none));
  CHECK(realmd::websocket_origin_allowed(with_origin("HTTP://Chat.Local:8080"), none));
  CHECK_FALSE(realmd::websocket_origin_allowed(with_origin("http://chat.local:8081"), none));
  CHECK_FALSE(realmd::websocket_origin_allowed(with_origin("http://evil.example"), none));
  CHECK_FALSE(realmd::websocket_origin_allowed(with_origin("null"), none));
  CHECK_FALSE(realmd::websocket_origin_allowed(with_origin("https://chat.example.org"), none));
  CHECK(realmd::websocket_origin_allowed(with_origin("https://chat.example.org"), proxy));
  CHECK(status_line(realmd::answer_forbidden_origin()) == "HTTP/1.1 403 Forbidden");
}

TEST_CASE(
    "a bare CR in a request head is a bad request (found by fuzz_web_http: http-parser "
    "took it for a line end and read the rest as a body)") {
  CHECK_FALSE(
      parse_http_request("POST /ws HTTP/1.1\r\nContent-Length: 4\r\n\r4\r\n\r\n").has_value());
  CHECK_FALSE(parse_http_request("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n").has_value());
  CHECK(parse_http_request("GET / HTTP/1.1\r\nHost: ab\r\n\r\n").has_value());
}

TEST_CASE("HEAD /ws is refused without a body (found by fuzz_web_http)") {
  const auto answer = answer_http_request(parsed("HEAD /ws HTTP/1.0\r\n\r\n"));
  CHECK(status_line(answer) == "HTTP/1.1 400 Bad Request");
  CHECK(answer.response.ends_with("\r\n\r\n"));
  CHECK(answer.response.find("Content-Length: 16") != std::string::npos);  // what GET would get
}
