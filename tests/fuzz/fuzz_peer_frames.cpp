// The realm logic's federation events: a realm with a seeded world and its link to beta up
// takes decoded peer frames, link events and client commands in any order, under the checks
// of fuzz::RealmDriver (replies compact JSON, one reply per request, waits answered once, every
// frame it sends decodes at the peer). Input lines:
//   {...}                  a frame line from the current peer (dropped unless it decodes)
//   ~beta ~gamma ~delta    switch the current peer (gamma: configured, not autoconnect;
//                          delta: unknown, learnt from its handshake)
//   ~up ~down              the current peer's link comes up (if down) / drops
//   ~timeout               every waiting reply's timer fires
//   anything else          a request line from a client
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "core/realm_state.hpp"
#include "federation/frames.hpp"
#include "realm_driver.hpp"

namespace {}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz::RealmDriver driver;
  driver.seed_world();
  std::set<std::string, std::less<>> up = {"beta"};
  driver.link_up("beta");
  std::string peer = "beta";

  std::size_t pos = 0;
  while (pos < input.size()) {
    std::size_t end = input.find('\n', pos);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(pos, end - pos);
    pos = end + 1;

    if (line == "~beta" || line == "~gamma" || line == "~delta") {
      peer = line.substr(1);
    } else if (line == "~up") {
      // realmd: one link per pair, and only for a realm the realm accepts.
      if (!up.contains(peer) && driver.accepts_link_from(peer)) {
        up.insert(peer);
        driver.link_up(peer);
      }
    } else if (line == "~down") {
      up.erase(peer);
      driver.link_down(peer);
    } else if (line == "~timeout") {
      driver.expire_waits();
    } else if (line.starts_with('{')) {
      if (!up.contains(peer)) continue;  // frames only come over an authenticated link
      const chat::federation::DecodeResult decoded =
          chat::federation::decode(line, fuzz::RealmDriver::max_message_bytes);
      if (!decoded.ok()) continue;
      const auto frame = chat::frames::peer_frame(*decoded.frame);
      if (frame) driver.peer_frame(peer, *frame);
    } else {
      driver.client_line(line);
    }
  }
  driver.expire_waits();
  return 0;
}
