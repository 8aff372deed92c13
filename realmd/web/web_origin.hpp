#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "web/web_http.hpp"

namespace realmd {

// Whether a WebSocket upgrade may go ahead given its Origin (docs/protocol.md §3). A browser
// sends the Origin of the page that opens the socket; without this check any page a user
// visits could talk to the realm through that user's browser (cross-site WebSocket hijacking).
// Allowed: no Origin at all (not a browser: the browser always sends one), the page's own
// origin ("http://" + the Host the request was made to), or one of `allowed` (exact
// "scheme://host[:port]" strings, e.g. the https origin of a reverse proxy in front).
bool websocket_origin_allowed(const HttpRequest& request, const std::vector<std::string>& allowed);

// The answer to an upgrade whose Origin is not allowed.
HttpAnswer answer_forbidden_origin();

}  // namespace realmd
