// The path-vector route table (core/route_table.hpp) and the routed envelope's outbox row
// (core/routing_state.hpp): pure, no realms.
#include "core/route_table.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/routing_state.hpp"

using chat::core::Announcement;
using chat::core::RouteTable;

namespace {

Announcement announce(std::vector<std::vector<std::string>> paths, bool via_others = true) {
  Announcement a;
  a.via_others = via_others;
  a.routes = std::move(paths);
  return a;
}

std::vector<std::vector<std::string>> paths_of(const Announcement& a) {
  return a.routes;
}

}  // namespace

TEST_CASE("a linked neighbour is one link away; what it announces is one link further") {
  RouteTable table("a");
  table.link_up("b");
  table.announced("b", announce({{"b"}, {"b", "c"}, {"b", "c", "d"}}));
  auto d = table.best("d");
  REQUIRE(d);
  CHECK(d->next_hop == "b");
  CHECK(d->distance == 3);
  CHECK(d->path == std::vector<std::string>{"b", "c", "d"});
  CHECK(table.best("b")->distance == 1);
  CHECK_FALSE(table.best("a"));  // never a route to itself
  CHECK_FALSE(table.best("zz"));
}

TEST_CASE(
    "paths through this realm (loops), repeated realms, paths not starting at the sender "
    "and paths over the cap are ignored") {
  RouteTable table("a");
  table.link_up("b");
  const std::vector<std::string> too_long = [] {
    std::vector<std::string> path{"b"};
    for (std::size_t i = 1; i <= chat::core::max_route_path; ++i)
      path.push_back(std::string("r").append(std::to_string(i)));
    return path;
  }();
  const std::size_t ignored = table.announced(
      "b", announce({{"b", "a", "x"}, {"b", "y", "b", "z"}, {"c", "w"}, too_long, {"b", "ok"}}));
  CHECK(ignored == 4);
  CHECK_FALSE(table.best("x"));
  CHECK_FALSE(table.best("z"));
  CHECK_FALSE(table.best("w"));
  CHECK_FALSE(table.best("r16"));
  CHECK(table.best("ok")->distance == 2);
}

TEST_CASE("the shortest path wins; a tie goes to the smaller next hop name, on every realm") {
  RouteTable table("a");
  table.link_up("c");
  table.link_up("b");
  table.link_up("d");
  table.announced("c", announce({{"c", "e"}}));
  table.announced("b", announce({{"b", "e"}}));
  table.announced("d", announce({{"d", "x", "e"}}));
  CHECK(table.best("e")->next_hop == "b");
  table.link_down("b");  // withdrawn with its link
  CHECK(table.best("e")->next_hop == "c");
  table.link_down("c");
  CHECK(table.best("e")->next_hop == "d");
  CHECK(table.best("e")->distance == 3);
  table.link_down("d");
  CHECK_FALSE(table.best("e"));
}

TEST_CASE("a new announcement replaces the neighbour's old one (a withdrawal is a path left out)") {
  RouteTable table("a");
  table.link_up("b");
  table.announced("b", announce({{"b"}, {"b", "c"}}));
  CHECK(table.best("c"));
  table.announced("b", announce({{"b"}}));
  CHECK_FALSE(table.best("c"));
  CHECK(table.best("b"));  // the link itself stays
}

TEST_CASE("an announcement from a realm that is not linked is ignored") {
  RouteTable table("a");
  CHECK(table.announced("b", announce({{"b", "c"}})) == 1);
  CHECK_FALSE(table.best("c"));
}

TEST_CASE(
    "what a realm announces: itself first, its best paths with itself prepended, never "
    "a path through the neighbour it announces to") {
  RouteTable table("b");
  table.link_up("a");
  table.link_up("c");
  table.announced("c", announce({{"c"}, {"c", "d"}}));
  CHECK(paths_of(table.announcement_for("a")) ==
        std::vector<std::vector<std::string>>{{"b"}, {"b", "c"}, {"b", "c", "d"}});
  // a has not announced yet: whether it may be reached through others is unknown, so it is
  // not passed on until it says.
  CHECK(paths_of(table.announcement_for("c")) == std::vector<std::vector<std::string>>{{"b"}});
  table.announced("a", announce({{"a"}}));
  CHECK(paths_of(table.announcement_for("c")) ==
        std::vector<std::vector<std::string>>{{"b"}, {"b", "a"}});
}

TEST_CASE("relay off: a realm announces only itself, so nobody routes through it") {
  RouteTable table("b", /*relay=*/false);
  table.link_up("a");
  table.link_up("c");
  table.announced("c", announce({{"c"}, {"c", "d"}}));
  CHECK(paths_of(table.announcement_for("a")) == std::vector<std::vector<std::string>>{{"b"}});
  CHECK(table.best("d"));  // it still reaches others itself
}

TEST_CASE("a realm that is not to be reached through others is announced by nobody but itself") {
  RouteTable c("c", true, /*via_others=*/false);
  CHECK_FALSE(c.announcement_for("b").via_others);

  RouteTable b("b");
  b.link_up("a");
  b.link_up("c");
  b.announced("c", announce({{"c"}, {"c", "d"}}, /*via_others=*/false));
  // b still passes on what c reaches, but not c itself.
  CHECK(paths_of(b.announcement_for("a")) ==
        std::vector<std::vector<std::string>>{{"b"}, {"b", "c", "d"}});
}

TEST_CASE("a ring converges without loops: every realm reaches every other by a shortest path") {
  // a - b - c - d - a, announcements exchanged until nothing changes.
  std::vector<std::string> names{"a", "b", "c", "d"};
  std::map<std::string, RouteTable> tables;
  for (const auto& n : names) tables.emplace(n, RouteTable(n));
  auto link = [&](const std::string& x, const std::string& y) {
    tables.at(x).link_up(y);
    tables.at(y).link_up(x);
  };
  link("a", "b");
  link("b", "c");
  link("c", "d");
  link("d", "a");
  const std::map<std::string, std::vector<std::string>> neighbours{
      {"a", {"b", "d"}}, {"b", {"a", "c"}}, {"c", {"b", "d"}}, {"d", {"a", "c"}}};
  for (int round = 0; round < 6; ++round) {
    for (const auto& [from, ns] : neighbours) {
      for (const auto& to : ns) tables.at(to).announced(from, tables.at(from).announcement_for(to));
    }
  }
  CHECK(tables.at("a").best("c")->distance == 2);
  CHECK(tables.at("a").best("c")->next_hop == "b");  // b < d
  for (const auto& [name, table] : tables) {
    for (const auto& [dest, route] : table.all_best()) {
      CHECK(std::find(route.path.begin(), route.path.end(), name) == route.path.end());
    }
  }
  // c goes away: a reaches it no more once b and d withdraw.
  tables.at("b").link_down("c");
  tables.at("d").link_down("c");
  for (int round = 0; round < 6; ++round) {
    for (const std::string from : {"a", "b", "d"}) {
      for (const auto& to : neighbours.at(from)) {
        if (to != "c") tables.at(to).announced(from, tables.at(from).announcement_for(to));
      }
    }
  }
  CHECK_FALSE(tables.at("a").best("c"));
}

TEST_CASE("a routed envelope survives its outbox row; a direct peer's row is no envelope") {
  chat::frames::Fwd e;
  e.id = 42;
  e.origin = "alpha";
  e.dest = "echo";
  e.epoch = 9007199254740991ULL;
  e.seq = 7;
  e.hops = 2;
  e.kind = chat::frames::MessageKind::answer;
  e.from = "jokowi";
  e.to = "messi";
  e.text = "User tidak ditemukan";
  e.time = "2026-11-26T22:33:16Z";
  e.oid = 40;
  e.re_epoch = 5;
  e.about = "echo";
  chat::store::OutboxRecord row = chat::core::to_outbox_record(e);
  auto back = chat::core::from_outbox_record(row);
  REQUIRE(back);
  CHECK(back->origin == "alpha");
  CHECK(back->dest == "echo");
  CHECK(back->epoch == e.epoch);
  CHECK(back->seq == 7);
  CHECK(back->hops == 2);
  CHECK(back->oid == 40);
  CHECK(back->re_epoch == 5);
  CHECK(back->about == "echo");
  CHECK(back->text == e.text);
  e.about.clear();
  e.kind = chat::frames::MessageKind::user;
  CHECK(chat::core::from_outbox_record(chat::core::to_outbox_record(e))->about.empty());
  row.route.clear();
  CHECK_FALSE(chat::core::from_outbox_record(row));
}
