#include "web/web_origin.hpp"

#include <algorithm>
#include <cctype>

namespace realmd {
namespace {

// Origins compare case-insensitively in their scheme and host (RFC 6454 §4 serialises them in
// lower case; browsers do, a hand-made one may not).
bool same_origin(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

bool websocket_origin_allowed(const HttpRequest& request, const std::vector<std::string>& allowed) {
  if (request.headers.find("origin") == request.headers.end()) return true;
  const std::string_view origin = request.header("origin");
  const std::string_view host = request.header("host");
  if (!host.empty() && same_origin(origin, "http://" + std::string(host))) return true;
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& entry) { return same_origin(origin, entry); });
}

HttpAnswer answer_forbidden_origin() {
  constexpr std::string_view body = "403 Forbidden: this page's origin may not connect\n";
  std::string out = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  out += body;
  return {std::move(out), false};
}

}  // namespace realmd
