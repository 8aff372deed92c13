#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "core/route_table.hpp"
#include "frames/link_frames.hpp"
#include "store/records.hpp"

// What this realm holds for routing (docs/protocol.md §2, routing): the route table, and the
// routed envelopes it keeps until the next hop has stored them. Plain data, owned by RealmState.
namespace chat::core {

// One envelope in this realm's custody: its own or one it relays. `envelope.id` is this
// realm's id for it (the outbox row's); `sent_to` the next hop it is in flight to, if any.
struct RoutedEntry {
  frames::Fwd envelope;
  std::string sent_to;
};

struct Routing {
  RouteTable table{""};
  std::map<std::uint64_t, RoutedEntry> entries;   // by this realm's id: oldest first
  std::map<std::string, std::size_t> in_flight;   // envelopes sent and not acked, per next hop
  std::map<std::string, std::size_t> queued_for;  // envelopes held, per destination
  std::map<std::string, std::uint64_t> last_seq;  // per destination, in this process's epoch
  // Realms this realm has known a route to (this run) or holds envelopes for: a send to one
  // with no path up now is queued, not refused.
  std::set<std::string> known;
  std::map<std::string, BestRoute> last_best;  // to tell whether an announcement is due
  std::map<std::string, std::string> keys;     // pinned signing keys, this realm's own included
  // The ids of the entries not in flight (`sent_to` empty), oldest first: pump_envelopes looks
  // at these only, so that a realm holding many envelopes in flight does not walk all of them
  // for every envelope that comes or goes.
  std::set<std::uint64_t> unsent;
  // The ids of the entries for this realm itself whose origin's signing key has not arrived
  // yet (Realm::await_origin_key): never sent on, taken or refused once the key comes.
  std::set<std::uint64_t> awaiting_key;
};

// What an origin signs and a destination verifies: every field of the envelope but the
// per-hop ones (id, hops), each length-prefixed, after a version tag.
std::string signed_bytes(const frames::Fwd& envelope);

// The outbox row of an envelope and back. The store keeps the envelope's routing fields in
// the row's `route` text ("origin|epoch|seq|oid|hops|re_epoch|about|sig"); a row whose route is
// empty or malformed is a direct peer's message (nothing).
store::OutboxRecord to_outbox_record(const frames::Fwd& envelope);
std::optional<frames::Fwd> from_outbox_record(const store::OutboxRecord& record);

}  // namespace chat::core
