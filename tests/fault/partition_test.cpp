// A silent partition: the receiving realm is frozen (SIGSTOP) for 20 s while messages are sent
// to it, then thawed (SIGCONT). The sender must find the link dead by keepalive, not by a
// socket error (a frozen process's kernel still acks TCP), queue what is sent meanwhile, and
// deliver every message exactly once after the thaw.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "support/delivery_checks.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realm_cluster.hpp"

using namespace test_support;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds keepalive{500};  // a silent link is dropped after 1.5 s
constexpr std::chrono::seconds partition{20};

// Messages sent by one client, in order, with what their replies said.
struct Stream {
  std::vector<std::string> texts;
  std::vector<bool> accepted;

  // Pipelines `count` sendprivaterealm requests to beta's jokowi.
  void send(LineClient& client, int count) {
    std::string lines;
    for (int i = 0; i < count; ++i) {
      texts.push_back(std::string("p").append(std::to_string(texts.size())));
      lines += "sendprivaterealm beta jokowi " + texts.back() + "\n";
    }
    client.send_raw(lines);
  }
  // Reads the replies still due; returns how many `fit` (a predicate of the reply).
  template <typename Fit>
  int take_replies(LineClient& client, Fit fit) {
    int fitting = 0;
    while (accepted.size() < texts.size()) {
      const std::string reply = client.expect_reply(30s);
      accepted.push_back(reply == sent_to_realm_reply || reply == queued_for_realm_reply);
      if (fit(reply)) ++fitting;
    }
    return fitting;
  }
  int take_replies(LineClient& client, const std::string& expected) {
    return take_replies(client, [&](const std::string& reply) { return reply == expected; });
  }
};

}  // namespace

TEST_CASE("the receiver frozen for 20 s: found dead by keepalive, sends queued, all arrive once") {
  RealmCluster realms({{"alpha", users_yaml({"messi"})}, {"beta", users_yaml({"jokowi"})}},
                      keepalive);
  realms["alpha"].start();
  realms["beta"].start();
  auto messi = login(realms["alpha"], "messi");
  REQUIRE(eventually([&] { return linked(*messi, "beta"); }));

  Stream stream;
  constexpr int batch = 300;
  const auto healthy_at = Clock::now();
  stream.send(*messi, batch);  // the link is healthy: acknowledged by beta
  CHECK(stream.take_replies(*messi, [&](const std::string& reply) {
    return acked_or_late(reply, healthy_at);
  }) == batch);
  // Nothing in flight when beta freezes (an ack that came after its reply said "queued" too).
  auto monitor = login(realms["alpha"], "messi");
  REQUIRE(eventually([&] { return drained(*monitor, "beta"); }));

  const auto frozen_at = Clock::now();
  realms["beta"].pause();
  // Sent into the silent link: written to the socket, never acked; answered "queued".
  stream.send(*messi, batch);
  // Found by keepalive: its reason, and soon (alpha's default keepalive, 5 s, would take 15 s).
  REQUIRE(eventually(
      [&] {
        const std::string entry = realm_entry(*monitor, "beta");
        return entry.find(R"("state":"linked")") == std::string::npos &&
               entry.find("keepalive timeout") != std::string::npos;
      },
      10s));
  const std::chrono::duration<double> detected = Clock::now() - frozen_at;
  MESSAGE("link found dead by keepalive " << detected.count() << " s after SIGSTOP");
  CHECK(stream.take_replies(*messi, queued_for_realm_reply) == batch);
  // Sent while the link is known down: queued at once.
  stream.send(*messi, batch);
  CHECK(stream.take_replies(*messi, queued_for_realm_reply) == batch);

  // No link can come up with a frozen peer (its kernel accepts the redials; the handshakes
  // time out).
  CHECK_FALSE(eventually([&] { return linked(*monitor, "beta"); },
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             partition - (Clock::now() - frozen_at))));
  realms["beta"].resume();
  const auto thawed_at = Clock::now();
  REQUIRE(eventually([&] { return drained(*monitor, "beta"); }, 30s));
  const std::chrono::duration<double> caught_up = Clock::now() - thawed_at;
  MESSAGE("outbox drained " << caught_up.count() << " s after SIGCONT");

  std::map<std::string, int> seen;
  drain_messages(*login(realms["beta"], "jokowi"), "getrealminbox alpha", seen);
  const Tally t = tally(stream.texts, stream.accepted, seen);
  CHECK(t.accepted == 3 * batch);
  CHECK(t.delivered == 3 * batch);
  CHECK(t.lost == 0);
  CHECK(t.duplicated == 0);
}
