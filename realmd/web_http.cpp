#include "web_http.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <string_view>

#include "web_assets.hpp"

namespace realmd {
namespace {

constexpr std::string_view line_end = "\r\n";
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

std::string response(std::string_view status, std::string_view content_type, std::string_view body,
                     std::string_view extra_headers = {}) {
  std::string out = "HTTP/1.1 ";
  out += status;
  out += line_end;
  out += "Content-Type: ";
  out += content_type;
  out += line_end;
  out += "Content-Length: " + std::to_string(body.size());
  out += line_end;
  // The page is served with the binary that serves its protocol: never a stale copy.
  out += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  out += extra_headers;
  out += "Connection: close\r\n\r\n";
  out += body;
  return out;
}

std::string text_response(std::string_view status, std::string_view extra_headers = {}) {
  return response(status, "text/plain; charset=utf-8", std::string(status) + "\n", extra_headers);
}

HttpAnswer upgrade(const HttpRequest& request) {
  if (!has_token(request.header("upgrade"), "websocket") ||
      !has_token(request.header("connection"), "upgrade")) {
    return {text_response("400 Bad Request"), false};
  }
  if (request.header("sec-websocket-version") != "13") {
    return {text_response("426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n"), false};
  }
  // The key is 16 random bytes in base64: 24 characters.
  const std::string_view key = request.header("sec-websocket-key");
  if (key.size() != 24) return {text_response("400 Bad Request"), false};
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out += websocket_accept_key(key);
  out += "\r\n\r\n";
  return {std::move(out), true};
}

}  // namespace

std::string_view HttpRequest::header(std::string_view lowercase_name) const {
  const auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<HttpRequest> parse_http_request(std::string_view head) {
  if (!head.ends_with("\r\n\r\n")) return std::nullopt;
  head.remove_suffix(2);  // every line, the last header's included, now ends in "\r\n"
  const auto take_line = [&head]() -> std::optional<std::string_view> {
    const std::size_t end = head.find(line_end);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view line = head.substr(0, end);
    head.remove_prefix(end + line_end.size());
    return line;
  };
  const auto request_line = take_line();
  if (!request_line) return std::nullopt;
  // METHOD SP TARGET SP HTTP/1.1
  const std::size_t first_space = request_line->find(' ');
  const std::size_t last_space = request_line->rfind(' ');
  if (first_space == std::string_view::npos || first_space == last_space) return std::nullopt;
  if (request_line->substr(last_space + 1) != "HTTP/1.1") return std::nullopt;
  HttpRequest request;
  request.method = request_line->substr(0, first_space);
  request.target = request_line->substr(first_space + 1, last_space - first_space - 1);
  if (request.method.empty() || request.target.empty() ||
      request.target.find(' ') != std::string::npos) {
    return std::nullopt;
  }
  while (!head.empty()) {
    const auto line = take_line();
    if (!line) return std::nullopt;
    const std::size_t colon = line->find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    const std::string_view name = line->substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
    // A repeated header keeps its first value: the ones read here appear once in a valid request.
    request.headers.emplace(lowercase(name), std::string(trim(line->substr(colon + 1))));
  }
  return request;
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
  if (request.method != "GET") {
    return {text_response("405 Method Not Allowed", "Allow: GET\r\n"), false};
  }
  // The query string plays no part: "/?x=1" is the page.
  const std::string_view path =
      std::string_view(request.target).substr(0, request.target.find('?'));
  if (path == "/ws") return upgrade(request);
  for (const WebAsset& asset : web_assets()) {
    if (asset.path == path) {
      return {response("200 OK", asset.content_type, asset.body,
                       "Content-Security-Policy: default-src 'self'; connect-src 'self'\r\n"),
              false};
    }
  }
  return {text_response("404 Not Found"), false};
}

HttpAnswer answer_bad_request() {
  return {text_response("400 Bad Request"), false};
}

HttpAnswer answer_head_too_large() {
  return {text_response("431 Request Header Fields Too Large"), false};
}

}  // namespace realmd
