// A flapping link: the receiving realm killed (SIGKILL) in the middle of a stream and started
// again, 20 times in well under a minute. Every message that got an OK must arrive exactly
// once, the link must settle afterwards, and the sender's redials must back off rather than
// hammer a peer that is down.
#include <doctest/doctest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/delivery_checks.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realm_cluster.hpp"

using namespace test_support;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

RealmCluster pair() {
  return RealmCluster({{"alpha", users_yaml({"messi"})}, {"beta", users_yaml({"jokowi"})}});
}

// Messages pipelined over several connections, and what their replies said.
class Stream {
 public:
  // A new connection of `realm` pipelines `count` sendprivaterealm requests to beta's jokowi.
  void send(const RealmdProcess& realm, int count) {
    Sender sender{login(realm, "messi"), texts_.size(), static_cast<std::size_t>(count), 0, {}};
    std::string lines;
    for (int i = 0; i < count; ++i) {
      texts_.push_back(std::string("f").append(std::to_string(texts_.size())));
      lines += "sendprivaterealm beta jokowi " + texts_.back() + "\n";
    }
    accepted_.resize(texts_.size());
    sender.sent_at = Clock::now();
    sender.client->send_raw(lines);
    senders_.push_back(std::move(sender));
  }
  // Reads `count` more replies of the latest connection; returns how many are what a link
  // that stayed up answers (acked_or_late).
  int take_latest(std::size_t count) { return take(senders_.back(), count); }
  // Reads every reply still due; returns how many are acked_or_late.
  int take_all() {
    int acknowledged = 0;
    for (Sender& sender : senders_) acknowledged += take(sender, sender.count - sender.taken);
    return acknowledged;
  }
  const std::vector<std::string>& texts() const { return texts_; }
  const std::vector<bool>& accepted() const { return accepted_; }

 private:
  struct Sender {
    std::unique_ptr<LineClient> client;
    std::size_t first = 0;  // index of its first text
    std::size_t count = 0;  // requests pipelined
    std::size_t taken = 0;  // replies read
    Clock::time_point sent_at;
  };

  int take(Sender& sender, std::size_t count) {
    int acknowledged = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::string reply = sender.client->expect_reply(30s);
      accepted_[sender.first + sender.taken++] =
          reply == sent_to_realm_reply || reply == queued_for_realm_reply;
      if (acked_or_late(reply, sender.sent_at)) ++acknowledged;
    }
    return acknowledged;
  }

  std::vector<std::string> texts_;
  std::vector<bool> accepted_;
  std::vector<Sender> senders_;
};

// The times at which something connected to `port` (accepted and closed at once, so a realm
// dialling it fails its handshake), over `window`.
std::vector<Clock::time_point> dial_times(std::uint16_t port, std::chrono::milliseconds window) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io);
  const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen();
  acceptor.non_blocking(true);
  std::vector<Clock::time_point> times;
  const auto deadline = Clock::now() + window;
  while (Clock::now() < deadline) {
    std::error_code ec;
    asio::ip::tcp::socket socket = acceptor.accept(ec);
    if (ec) {
      std::this_thread::sleep_for(2ms);  // nothing waiting: poll again
      continue;
    }
    times.push_back(Clock::now());
  }
  return times;
}

}  // namespace

TEST_CASE("the receiver killed and restarted 20 times mid-stream: none lost, none twice") {
  RealmCluster realms = pair();
  realms["alpha"].start();
  realms["beta"].start();
  auto monitor = login(realms["alpha"], "messi");

  constexpr int restarts = 20;
  constexpr int batch = 200;
  Stream stream;
  const auto flapping_from = Clock::now();
  for (int round = 0; round < restarts; ++round) {
    REQUIRE(eventually([&] { return linked(*monitor, "beta"); }));
    stream.send(realms["alpha"], batch);
    // Kill once beta has acked the first quarter: the rest is on its way.
    stream.take_latest(batch / 4);
    realms["beta"].kill9();
    realms["beta"].start();
  }
  const std::chrono::duration<double> flapping = Clock::now() - flapping_from;
  MESSAGE(restarts << " kills and restarts in " << flapping.count() << " s");

  // The link settles: the outbox drains, and new sends are acknowledged, not queued because
  // the link is down (an ack may still come later than the reply waits, on a slow machine).
  REQUIRE(eventually([&] { return drained(*monitor, "beta"); }, 60s));
  stream.take_all();
  constexpr int after = 100;
  stream.send(realms["alpha"], after);
  CHECK(stream.take_all() == after);
  REQUIRE(eventually([&] { return drained(*monitor, "beta"); }));

  std::map<std::string, int> seen;
  drain_messages(*login(realms["beta"], "jokowi"), "getrealminbox alpha", seen);
  const Tally t = tally(stream.texts(), stream.accepted(), seen);
  CHECK(t.accepted == restarts * batch + after);
  CHECK(t.lost == 0);
  CHECK(t.duplicated == 0);
}

TEST_CASE("redials of a peer that keeps failing back off (100 ms doubling, jittered)") {
  RealmCluster realms = pair();
  realms["alpha"].start();
  realms["beta"].start();
  auto monitor = login(realms["alpha"], "messi");
  REQUIRE(eventually([&] { return linked(*monitor, "beta"); }));
  const std::uint16_t beta_port = realms["beta"].peer_port();
  realms["beta"].kill9();
  // In beta's place, a listener that drops every connection: each redial fails its handshake.
  constexpr auto window = 8s;
  const std::vector<Clock::time_point> dials = dial_times(beta_port, window);
  std::string gaps;
  for (std::size_t i = 1; i < dials.size(); ++i) {
    gaps += std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(dials[i] - dials[i - 1])
                    .count()) +
            " ";
  }
  MESSAGE(dials.size() << " redials in " << window.count() << " s; gaps in ms: " << gaps);
  // Without backoff (a redial every 100 ms) there would be about 80; with it, about
  // log2(8 s / 100 ms) + a few for the jitter.
  CHECK(dials.size() >= 3);
  CHECK(dials.size() <= 16);
}
