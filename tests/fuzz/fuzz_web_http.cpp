// The web listener's HTTP side (realmd/web_http.*), fed what a browser, or anyone, sends
// before the WebSocket upgrade, cut the way WebHandshake cuts it: the head up to the first
// empty line within max_http_head_bytes (431 if none), parsed, answered. Checked: a parsed
// request holds what its head said (written out again it parses to the same request); every
// answer is one of the documented statuses with a head of printable ASCII lines (nothing of the
// request is echoed into it), Content-Length is the body's size (a HEAD gets no body: it is
// GET's Content-Length), and the 101 comes only for a valid upgrade, with the accept key of
// its Sec-WebSocket-Key.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_checks.hpp"
#include "web/web_assets.hpp"
#include "web/web_http.hpp"

namespace realmd {

// Two stand-ins for the embedded page (generated into realmd's build), which plays no part in
// how requests are parsed or answered.
std::span<const WebAsset> web_assets() {
  static constexpr std::array<WebAsset, 2> assets = {
      WebAsset{"/", "text/html; charset=utf-8", "<!doctype html><title>realmchat</title>"},
      WebAsset{"/app.js", "text/javascript; charset=utf-8", "\"use strict\";\n"}};
  return assets;
}

}  // namespace realmd

namespace {

constexpr std::string_view head_end = "\r\n\r\n";

std::string written_out(const realmd::HttpRequest& request) {
  std::string head = request.method + " " + request.target + " HTTP/1." +
                     std::to_string(request.version_minor) + "\r\n";
  for (const auto& [name, value] : request.headers) head += name + ": " + value + "\r\n";
  return head + "\r\n";
}

void check_parsed(std::string_view head, const realmd::HttpRequest& request) {
  if (request.method.empty() || request.target.empty() ||
      request.method.find(' ') != std::string::npos ||
      request.target.find(' ') != std::string::npos) {
    fuzz::fail("a parsed request line with an empty or spaced method or target", head);
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || name.find_first_of(" \t:ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
      fuzz::fail("a header name that is empty, spaced or not lower case", name);
    }
    if (value.find("\r\n") != std::string::npos) fuzz::fail("a header value holds CRLF", value);
  }
  const std::string again = written_out(request);
  const std::optional<realmd::HttpRequest> reparsed = realmd::parse_http_request(again);
  if (!reparsed || reparsed->method != request.method || reparsed->target != request.target ||
      reparsed->headers != request.headers || reparsed->version_minor != request.version_minor) {
    fuzz::fail("a parsed request written out again parses to another one", again);
  }
}

// What the upgrade must be: GET of /ws (any query) over HTTP/1.1, both tokens, version 13, a
// 24-byte key.
bool valid_upgrade(const realmd::HttpRequest& request) {
  const auto has = [](std::string_view value, std::string_view token) {
    std::string lower(value);
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    for (std::size_t start = 0; start <= lower.size();) {
      std::size_t comma = lower.find(',', start);
      if (comma == std::string::npos) comma = lower.size();
      std::string_view item = std::string_view(lower).substr(start, comma - start);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item == token) return true;
      start = comma + 1;
    }
    return false;
  };
  const std::string_view target = request.target;
  return request.method == "GET" && request.version_minor >= 1 &&
         target.substr(0, target.find('?')) == "/ws" &&
         has(request.header("upgrade"), "websocket") &&
         has(request.header("connection"), "upgrade") &&
         request.header("sec-websocket-version") == "13" &&
         request.header("sec-websocket-key").size() == 24;
}

void check_answer(const realmd::HttpAnswer& answer, const realmd::HttpRequest* request) {
  const std::string& response = answer.response;
  const std::size_t body_at = response.find(head_end);
  if (!response.starts_with("HTTP/1.1 ") || body_at == std::string::npos) {
    fuzz::fail("an answer without a status line and a head", response);
  }
  const std::string_view head = std::string_view(response).substr(0, body_at + 2);
  for (char c : head) {
    if ((c < 0x20 || c > 0x7e) && c != '\r' && c != '\n') {
      fuzz::fail("an answer head with a byte that is not printable ASCII", head);
    }
  }
  const std::string_view status = head.substr(9, 3);
  static constexpr std::array<std::string_view, 7> statuses = {"101", "200", "400", "404",
                                                               "405", "426", "431"};
  if (std::find(statuses.begin(), statuses.end(), status) == statuses.end()) {
    fuzz::fail("an undocumented status", head);
  }
  if (answer.upgrade != (status == "101")) fuzz::fail("upgrade disagrees with the status", head);
  if (answer.upgrade) {
    if (request == nullptr || !valid_upgrade(*request)) fuzz::fail("101 to a bad upgrade", head);
    const std::string accept = "Sec-WebSocket-Accept: " +
                               realmd::websocket_accept_key(request->header("sec-websocket-key"));
    if (head.find(accept + "\r\n") == std::string_view::npos) fuzz::fail("a wrong accept", head);
    if (body_at + head_end.size() != response.size()) fuzz::fail("a 101 with a body", response);
    return;
  }
  if (request != nullptr && valid_upgrade(*request)) fuzz::fail("no 101 to a valid upgrade", head);
  std::size_t body_size = response.size() - body_at - head_end.size();
  if (request != nullptr && request->method == "HEAD") {
    if (body_size != 0) fuzz::fail("a body in the answer to HEAD", response);
    realmd::HttpRequest get = *request;
    get.method = "GET";
    const std::string get_response = realmd::answer_http_request(get).response;
    if (get_response.starts_with("HTTP/1.1 101 ")) {
      // The one exception: where GET would switch protocols, HEAD cannot; it gets the 400 of
      // a bad upgrade.
      if (status != "400") fuzz::fail("HEAD of a valid upgrade not refused", head);
      body_size = std::string_view("400 Bad Request\n").size();
    } else {
      if (get_response.substr(0, get_response.find(head_end)) != head.substr(0, body_at)) {
        fuzz::fail("HEAD's head differs from GET's", head);
      }
      body_size = get_response.size() - get_response.find(head_end) - head_end.size();
    }
  }
  const std::string length = "Content-Length: " + std::to_string(body_size) + "\r\n";
  if (head.find(length) == std::string_view::npos) fuzz::fail("a wrong Content-Length", head);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The positive control: RFC 6455 §1.3's own example.
  if (realmd::websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ==") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
    fuzz::fail("the accept key is not RFC 6455's", "");
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t end = input.find(head_end);
  if (end == std::string_view::npos || end + head_end.size() > realmd::max_http_head_bytes) {
    // WebHandshake answers 431 once max_http_head_bytes hold no empty line.
    if (input.size() >= realmd::max_http_head_bytes) {
      check_answer(realmd::answer_head_too_large(), nullptr);
    }
    return 0;
  }
  const std::string_view head = input.substr(0, end + head_end.size());
  const std::optional<realmd::HttpRequest> request = realmd::parse_http_request(head);
  if (!request) {
    check_answer(realmd::answer_bad_request(), nullptr);
    return 0;
  }
  check_parsed(head, *request);
  check_answer(realmd::answer_http_request(*request), &*request);
  return 0;
}
