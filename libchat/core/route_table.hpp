#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "frames/link_frames.hpp"

// Path-vector routing between realms (docs/protocol.md §2, routing): what each linked
// neighbour announced it can reach, and the best path to every realm. Pure data: no timers,
// no I/O; the realm logic feeds it link events and announcements and reads next hops.
namespace chat::core {

// The longest path a realm takes or announces (realms after the sender, destination included).
inline constexpr std::size_t max_route_path = 16;
// The most routes one announcement may hold.
inline constexpr std::size_t max_routes_per_announcement = 1024;
// The most names one announcement carries in all its paths: it stays well inside a link's
// frame limit (a name is at most 32 bytes). Routes past it are not announced.
inline constexpr std::size_t max_names_per_announcement = 2048;

// One realm a neighbour reaches: the path runs from the neighbour to the destination (its
// back), both included (a neighbour's own entry is just [neighbour]).
using RoutePath = std::vector<std::string>;

// What a neighbour announces is the route frame itself: its paths, the signing keys it holds
// for the realms it announces, and whether it may be announced on.
using Announcement = frames::Route;

struct BestRoute {
  std::string next_hop;
  std::size_t distance = 0;       // links to the destination: 1 for a neighbour
  std::vector<std::string> path;  // next hop .. destination
  bool operator==(const BestRoute&) const = default;
};

class RouteTable {
 public:
  explicit RouteTable(std::string self, bool relay = true, bool via_others = true)
      : self_(std::move(self)), relay_(relay), via_others_(via_others) {}

  // A link to `neighbour` came up: it is one link away.
  void link_up(const std::string& neighbour);
  // The link dropped: everything learnt from it is withdrawn.
  void link_down(const std::string& neighbour);
  // Replaces what `neighbour` announced. Paths that do not start at the neighbour, contain this
  // realm (a loop), repeat a realm, or are longer than max_route_path are ignored. Returns how
  // many were ignored (the caller may log it). Ignored when the neighbour is not linked.
  std::size_t announced(const std::string& neighbour, const Announcement& announcement);

  // The best path to `destination`: shortest, ties to the smaller next hop name, then the
  // smaller path. Nothing for this realm itself or an unreachable one.
  std::optional<BestRoute> best(std::string_view destination) const;
  // Every destination reachable, with its best route (by name).
  std::map<std::string, BestRoute> all_best() const;
  // What to announce to `neighbour`: this realm, and (when it relays) every best route that
  // does not pass through the neighbour and whose destination allows being announced on.
  Announcement announcement_for(const std::string& neighbour) const;
  // Whether `neighbour` lets itself be announced on (false until it announced anything).
  bool announced_on(const std::string& neighbour) const;
  bool linked(std::string_view neighbour) const {
    return neighbours_.contains(std::string(neighbour));
  }

 private:
  bool acceptable(const std::string& neighbour, const RoutePath& route) const;

  std::string self_;
  bool relay_;
  bool via_others_;
  struct Neighbour {
    std::vector<RoutePath> routes;  // as announced (the accepted ones)
    bool via_others = true;
    bool heard = false;  // it announced since the link came up (so via_others is known)
  };
  std::map<std::string, Neighbour> neighbours_;
};

}  // namespace chat::core
