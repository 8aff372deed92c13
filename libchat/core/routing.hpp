#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"
#include "frames/link_frames.hpp"

// Routed envelopes (docs/protocol.md §2, routing): the steps shared by the realm commands
// (a realm's own messages) and the link handlers (what it relays). core/realm_routing.cpp.
namespace chat::core {

class RealmState;
struct RealmSettings;
struct Peer;
struct Environment;

// Signs `envelope` as its origin (this realm), when the environment can sign.
void sign_envelope(frames::Fwd& envelope, const Environment& env);

// Keeps `envelope` in this realm's custody under a new id of this realm (returned): stored
// with the Outcome's mutations, sent by pump_envelopes when its next hop can take it.
std::uint64_t hold_envelope(RealmState& state, frames::Fwd envelope, Outcome& out);

// Sends the envelopes not in flight, oldest first, to the next hop of their destination while
// that link is up and its window has room. Envelopes longer than the next hop takes are taken
// out of custody into `too_long` (the caller refuses them).
void pump_envelopes(RealmState& state, const RealmSettings& settings, Outcome& out,
                    std::vector<frames::Fwd>& too_long);

// The linked neighbour on the best path to `destination`, or nullptr (no path up).
Peer* next_hop(RealmState& state, std::string_view destination);

// The reply a waiting client sees for its realm send: sent (`ok`), or refused with `error`.
std::string realm_send_reply(bool ok, const std::string& error, bool group);

}  // namespace chat::core
