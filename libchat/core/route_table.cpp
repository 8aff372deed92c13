#include "core/route_table.hpp"

#include <algorithm>

#include "protocol/names.hpp"

namespace chat::core {

void RouteTable::link_up(const std::string& neighbour) {
  neighbours_.try_emplace(neighbour);
}

void RouteTable::link_down(const std::string& neighbour) {
  neighbours_.erase(neighbour);
}

bool RouteTable::acceptable(const std::string& neighbour, const RoutePath& path) const {
  if (path.empty() || path.size() > max_route_path || path.front() != neighbour) return false;
  std::set<std::string_view> seen;
  for (const std::string& realm : path) {
    // A path through this realm would be a loop: path-vector's loop freedom is this check.
    if (realm == self_ || !protocol::is_valid_name(realm) || !seen.insert(realm).second)
      return false;
  }
  return true;
}

std::size_t RouteTable::announced(const std::string& neighbour, const Announcement& announcement) {
  auto found = neighbours_.find(neighbour);
  if (found == neighbours_.end()) return announcement.routes.size();
  Neighbour& entry = found->second;
  entry.routes.clear();
  entry.via_others = announcement.via_others;
  entry.heard = true;
  std::size_t ignored = 0;
  for (const RoutePath& route : announcement.routes) {
    if (entry.routes.size() < max_routes_per_announcement && acceptable(neighbour, route)) {
      entry.routes.push_back(route);
    } else {
      ++ignored;
    }
  }
  return ignored;
}

namespace {

// Shorter first; then the smaller next hop; then the smaller path: one answer on every realm.
bool better(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

}  // namespace

std::map<std::string, BestRoute> RouteTable::all_best() const {
  std::map<std::string, std::vector<std::string>> paths;
  auto consider = [&](const std::vector<std::string>& path) {
    auto [it, inserted] = paths.try_emplace(path.back(), path);
    if (!inserted && better(path, it->second)) it->second = path;
  };
  for (const auto& [name, neighbour] : neighbours_) {
    consider({name});  // the link itself
    for (const RoutePath& route : neighbour.routes) consider(route);
  }
  std::map<std::string, BestRoute> best;
  for (auto& [destination, path] : paths) {
    best[destination] = BestRoute{path.front(), path.size(), std::move(path)};
  }
  return best;
}

std::optional<BestRoute> RouteTable::best(std::string_view destination) const {
  std::map<std::string, BestRoute> all = all_best();
  auto found = all.find(std::string(destination));
  if (found == all.end()) return std::nullopt;
  return std::move(found->second);
}

bool RouteTable::announced_on(const std::string& neighbour) const {
  auto found = neighbours_.find(neighbour);
  return found != neighbours_.end() && found->second.heard && found->second.via_others;
}

Announcement RouteTable::announcement_for(const std::string& neighbour) const {
  Announcement out;
  out.via_others = via_others_;
  out.routes.push_back({self_});
  if (!relay_) return out;
  std::size_t names = 1;
  for (const auto& [destination, route] : all_best()) {
    if (destination == neighbour || route.path.size() + 1 > max_route_path) continue;
    if (out.routes.size() >= max_routes_per_announcement ||
        names + route.path.size() + 1 > max_names_per_announcement) {
      break;
    }
    if (std::find(route.path.begin(), route.path.end(), neighbour) != route.path.end()) continue;
    // A realm that asked not to be reached through others is announced by nobody but itself;
    // a neighbour is passed on only once its own announcement said it may be.
    auto direct = neighbours_.find(destination);
    if (direct != neighbours_.end() && !announced_on(destination)) continue;
    names += route.path.size() + 1;
    RoutePath path{self_};
    path.insert(path.end(), route.path.begin(), route.path.end());
    out.routes.push_back(std::move(path));
  }
  return out;
}

}  // namespace chat::core
