#include "web/web_http.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <string_view>

#include "web/web_assets.hpp"

namespace realmd {
namespace {

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Whether a comma-separated header value holds `token` (case-insensitive), e.g. Connection:
// "keep-alive, Upgrade" holds "upgrade".
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (lowercase(trim(value.substr(0, comma))) == token) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// The page is served with the binary that serves its protocol: never a stale copy. Every
// answer closes the connection: a browser opens the page once, then talks WebSocket.
std::string response(std::string_view status, std::string_view content_type, std::string_view body,
                     std::string_view extra_headers = {}, bool head_only = false) {
  std::string headers = "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  headers += extra_headers;
  return http_response(status, content_type, body, head_only, false, headers);
}

std::string text_response(std::string_view status, std::string_view extra_headers = {},
                          bool head_only = false) {
  return response(status, "text/plain; charset=utf-8", std::string(status) + "\n", extra_headers,
                  head_only);
}

HttpAnswer upgrade(const HttpRequest& request) {
  // HEAD gets what GET would, without a body (fuzz_web_http checks it), except that it never
  // switches protocols.
  const bool head_only = request.method == "HEAD";
  if (request.version_minor < 1 || !has_token(request.header("upgrade"), "websocket") ||
      !has_token(request.header("connection"), "upgrade")) {
    return {text_response("400 Bad Request", {}, head_only), false};
  }
  if (request.header("sec-websocket-version") != "13") {
    return {text_response("426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n", head_only),
            false};
  }
  // The key is 16 random bytes in base64: 24 characters.
  const std::string_view key = request.header("sec-websocket-key");
  if (key.size() != 24 || head_only)
    return {text_response("400 Bad Request", {}, head_only), false};
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out += websocket_accept_key(key);
  out += "\r\n\r\n";
  return {std::move(out), true};
}

}  // namespace

std::optional<HttpRequest> parse_http_request(std::string_view head) {
  HttpRequestParser parser;
  const std::size_t used = parser.feed(head);
  if (parser.state() != HttpRequestParser::State::complete || used != head.size()) {
    return std::nullopt;
  }
  return parser.request();
}

std::string websocket_accept_key(std::string_view key) {
  std::string input(key);
  input += websocket_guid;
  constexpr int sha1_bytes = 20;
  std::array<unsigned char, sha1_bytes> digest{};
  if (EVP_Digest(input.data(), input.size(), digest.data(), nullptr, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA-1 failed");
  }
  // 20 bytes -> 28 base64 characters, plus the NUL EVP_EncodeBlock writes.
  std::array<unsigned char, 4 * ((sha1_bytes + 2) / 3) + 1> encoded{};
  const int length = EVP_EncodeBlock(encoded.data(), digest.data(), sha1_bytes);
  return std::string(reinterpret_cast<const char*>(encoded.data()),
                     static_cast<std::size_t>(length));
}

HttpAnswer answer_http_request(const HttpRequest& request) {
  const bool head_only = request.method == "HEAD";
  if (request.method != "GET" && !head_only) {
    return {text_response("405 Method Not Allowed", "Allow: GET, HEAD\r\n"), false};
  }
  // The query string plays no part: "/?x=1" is the page.
  const std::string_view path =
      std::string_view(request.target).substr(0, request.target.find('?'));
  if (path == "/ws") return upgrade(request);
  for (const WebAsset& asset : web_assets()) {
    if (asset.path == path) {
      return {response("200 OK", asset.content_type, asset.body,
                       "Content-Security-Policy: default-src 'self'; connect-src 'self'\r\n",
                       head_only),
              false};
    }
  }
  return {text_response("404 Not Found", {}, head_only), false};
}

HttpAnswer answer_bad_request() {
  return {text_response("400 Bad Request"), false};
}

HttpAnswer answer_head_too_large() {
  return {text_response("431 Request Header Fields Too Large"), false};
}

}  // namespace realmd
