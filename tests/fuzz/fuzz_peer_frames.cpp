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
#include "frame_bridge.hpp"
#include "realm_driver.hpp"

namespace {

// KNOWN CORE BUG (reported to the lead; libchat/core is not ours to edit): a "fetched" whose
// rid is not that of a waiting getrealminbox re-adds that waiter under a new id, so the
// client's wait times out without a reply (realmd closes the connection) and the waiter
// leaks. The input that shows it (with this filter removed):
//   auth henderson surabaya\ngetrealminbox beta\n{"t":"fetched","rid":2}\n
// Until the fix, such frames are not delivered, so that the run goes on to find other bugs:
// a fetched goes in only when no getrealminbox waits on that peer, or exactly one does and
// the rid is that of the last fetch sent. Remove this filter with the fix.
bool fetched_avoids_known_bug(const fuzz::RealmDriver& driver, const std::string& peer,
                              const chat::core::PeerFrame& frame) {
  const auto* fetched = std::get_if<chat::core::PeerFetched>(&frame);
  if (fetched == nullptr) return true;
  const std::size_t waiting =
      driver.realm().state().waiters_of(peer, chat::core::Waiter::Kind::fetch).size();
  return waiting == 0 || (waiting == 1 && fetched->rid == driver.last_fetch_rid(peer));
}

}  // namespace

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
      const auto frame = fuzz::from_wire(*decoded.frame);
      if (frame && fetched_avoids_known_bug(driver, peer, *frame)) driver.peer_frame(peer, *frame);
    } else {
      driver.client_line(line);
    }
  }
  driver.expire_waits();
  return 0;
}
