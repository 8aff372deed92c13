// Every realm of three restarted in turn (SIGTERM, start again) while all of them send local
// and cross-realm messages: no message that got an OK may be lost or arrive twice.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/delivery_checks.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realm_cluster.hpp"

using namespace test_support;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view reply_end = "\r\n\r\n";

// One realm's sender connection for one round: requests pipelined, replies read later.
struct Sender {
  std::unique_ptr<LineClient> client;
  std::vector<std::size_t> indexes;  // of its texts, in request order
};

}  // namespace

TEST_CASE("every realm restarted in turn under load: nothing acknowledged is lost") {
  const std::vector<std::string> names{"alpha", "beta", "gamma"};
  RealmCluster realms({{"alpha", users_yaml({"s", "r"})},
                       {"beta", users_yaml({"s", "r"})},
                       {"gamma", users_yaml({"s", "r"})}});
  for (const std::string& name : names) realms[name].start();
  std::map<std::string, std::unique_ptr<LineClient>> monitors;
  const auto all_drained = [&] {
    for (const std::string& name : names) {
      for (const std::string& peer : names) {
        if (peer != name && !drained(*monitors[name], peer)) return false;
      }
    }
    return true;
  };
  for (const std::string& name : names) monitors[name] = login(realms[name], "s");
  REQUIRE(eventually(all_drained));

  constexpr int per_target = 1000;  // each round, each realm sends this many to each realm
  std::vector<std::string> texts;
  std::vector<bool> accepted;
  int answered_by_victims = 0;  // replies a stopping realm wrote before closing
  int refused = 0;              // replies that were not OK
  for (const std::string& victim : names) {
    // Each realm's s sends to r of every realm (its own by `send`), interleaved.
    std::map<std::string, Sender> senders;
    for (const std::string& from : names) {
      Sender& sender = senders[from];
      sender.client = login(realms[from], "s");
      std::string lines;
      for (int i = 0; i < per_target; ++i) {
        for (const std::string& to : names) {
          texts.push_back(victim + "-" + from + "-" + to + "-" + std::to_string(i));
          sender.indexes.push_back(texts.size() - 1);
          lines +=
              (to == from ? "send r " : "sendprivaterealm " + to + " r ") + texts.back() + "\n";
        }
      }
      sender.client->send_raw(lines);
    }
    accepted.resize(texts.size());
    // Restart the victim with its own stream in full flight.
    Sender& victims = senders[victim];
    CHECK(realms[victim].terminate() == 0);
    // A graceful stop answers what it took before closing; the rest is not acknowledged.
    REQUIRE(victims.client->wait_closed(30s));
    std::string_view rest = victims.client->unread();
    for (std::size_t i = 0; i < victims.indexes.size(); ++i) {
      const auto end = rest.find(reply_end);
      if (end == std::string_view::npos) break;
      accepted[victims.indexes[i]] = is_ok(std::string(rest.substr(0, end)));
      ++answered_by_victims;
      if (!accepted[victims.indexes[i]]) ++refused;
      rest.remove_prefix(end + reply_end.size());
    }
    realms[victim].start();
    monitors[victim] = login(realms[victim], "s");
    for (const std::string& from : names) {
      if (from == victim) continue;
      for (std::size_t index : senders[from].indexes) {
        accepted[index] = is_ok(senders[from].client->expect_reply(30s));
        if (!accepted[index]) ++refused;
      }
    }
  }
  REQUIRE(eventually(all_drained, 60s));

  std::map<std::string, int> seen;
  for (const std::string& name : names) {
    auto r = login(realms[name], "r");
    drain_messages(*r, "inbox", seen);
    for (const std::string& peer : names) {
      if (peer != name) drain_messages(*r, "getrealminbox " + peer, seen);
    }
  }
  const Tally t = tally(texts, accepted, seen);
  // Every reply is an OK: the two realms not stopped answer all of theirs (a send to the
  // stopping realm is queued), the stopping one all it took. Only requests it had not taken
  // when stopped go unanswered.
  const int from_others = static_cast<int>(texts.size()) * 2 / 3;
  MESSAGE(answered_by_victims << " of " << texts.size() - from_others
                              << " requests to stopping realms answered");
  CHECK(refused == 0);
  CHECK(t.accepted == from_others + answered_by_victims);
  CHECK(t.lost == 0);
  CHECK(t.duplicated == 0);
}
