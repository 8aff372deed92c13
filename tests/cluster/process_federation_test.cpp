// Real realmd processes linked to each other: a peer stopped and restarted, the sender killed
// with messages in its outbox, the receiver killed in the middle of a stream of 10,000
// cross-realm messages, and a peer added at run time surviving a restart. Every message that
// got an OK or a "queued" reply must arrive exactly once (PROTOCOL.md §1.6).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/free_port.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realmd_process.hpp"
#include "support/temp_dir.hpp"

using test_support::eventually;
using test_support::LineClient;
using test_support::RealmdProcess;
using test_support::TempDir;
using namespace std::chrono_literals;

namespace {

const std::string sent_reply = R"({"status":"OK","message":"Message sent to user in realm"})";
const std::string queued_reply =
    R"({"status":"OK","message":"Message queued for realm","queued":true})";

bool is_ok(const std::string& reply) {
  return reply.starts_with(R"({"status":"OK")");
}

// alpha (admin messi) and beta (user jokowi), each naming the other as a peer, on peer ports
// fixed up front so that restarts keep them. `gamma` is a third realm nobody names.
struct Pair {
  TempDir dir;
  std::uint16_t alpha_port = test_support::free_port();
  std::uint16_t beta_port = test_support::free_port();
  std::unique_ptr<RealmdProcess> alpha;
  std::unique_ptr<RealmdProcess> beta;

  Pair() {
    std::filesystem::create_directories(dir.path() / "alpha");
    std::filesystem::create_directories(dir.path() / "beta");
    alpha = std::make_unique<RealmdProcess>(
        dir.path() / "alpha",
        RealmdProcess::config_yaml(
            "alpha", dir.path() / "alpha" / "data",
            "admins: [messi]\n"
            "users: [{username: messi, password: pw, nama: Lionel_Messi, negara: Argentina}]\n"
            "peers: [{name: beta, address: 127.0.0.1:" +
                std::to_string(beta_port) + "}]\n",
            alpha_port));
    beta = std::make_unique<RealmdProcess>(
        dir.path() / "beta",
        RealmdProcess::config_yaml(
            "beta", dir.path() / "beta" / "data",
            "users: [{username: jokowi, password: pw, nama: joko_widodo, negara: indonesia}]\n"
            "peers: [{name: alpha, address: 127.0.0.1:" +
                std::to_string(alpha_port) + "}]\n",
            beta_port));
  }
};

std::unique_ptr<LineClient> login(const RealmdProcess& realm, const std::string& user) {
  auto client = std::make_unique<LineClient>(realm.client_port());
  const std::string reply = client->request("auth " + user + " pw");
  REQUIRE_MESSAGE(is_ok(reply), reply);
  return client;
}

// The `realms` entry of `peer` as seen by `client`'s realm.
std::string realm_entry(LineClient& client, const std::string& peer) {
  const std::string reply = client.request("realms");
  const auto at = reply.find(R"({"name":")" + peer + R"(")");
  if (at == std::string::npos) return {};
  return reply.substr(at, reply.find('}', at) - at + 1);
}

bool linked(LineClient& client, const std::string& peer) {
  return realm_entry(client, peer).find(R"("state":"linked")") != std::string::npos;
}

// Linked, and nothing left in the outbox for `peer`.
bool drained(LineClient& client, const std::string& peer) {
  const std::string entry = realm_entry(client, peer);
  return entry.find(R"("state":"linked")") != std::string::npos &&
         entry.find(R"("queued":0,)") != std::string::npos;
}

// Reads jokowi's realm inbox from alpha until it is empty; counts each "m<N>" text.
std::map<int, int> drain_realm_inbox(LineClient& jokowi) {
  std::map<int, int> seen;
  constexpr std::string_view key = R"("msg":"m)";
  for (;;) {
    const std::string reply = jokowi.request("getrealminbox alpha", 30s);
    REQUIRE_MESSAGE(reply.starts_with(R"({"status":"OK","realm":"alpha","messages":{)"), reply);
    if (reply.starts_with(R"({"status":"OK","realm":"alpha","messages":{},)")) return seen;
    for (auto at = reply.find(key); at != std::string::npos; at = reply.find(key, at + 1)) {
      ++seen[std::stoi(reply.substr(at + key.size(), 12))];
    }
  }
}

struct Tally {
  int sent = 0;        // requests made
  int accepted = 0;    // answered OK: sent or queued (both are promises to deliver)
  int delivered = 0;   // accepted ones found at the receiver
  int lost = 0;        // accepted ones not found
  int duplicated = 0;  // extra copies found
};

Tally tally(int sent, const std::vector<bool>& accepted, const std::map<int, int>& seen) {
  Tally t;
  t.sent = sent;
  for (int i = 0; i < sent; ++i) {
    if (!accepted[static_cast<std::size_t>(i)]) continue;
    ++t.accepted;
    const auto found = seen.find(i);
    if (found == seen.end()) {
      ++t.lost;
    } else {
      ++t.delivered;
    }
  }
  for (const auto& [number, count] : seen) t.duplicated += count - 1;
  MESSAGE("sent=" << t.sent << " accepted=" << t.accepted << " delivered=" << t.delivered
                  << " lost=" << t.lost << " duplicated=" << t.duplicated);
  return t;
}

// "sendprivaterealm beta jokowi m<first>" .. m<first+count-1>, one request a line.
std::string sends(int first, int count) {
  std::string lines;
  for (int i = first; i < first + count; ++i) {
    lines += "sendprivaterealm beta jokowi m" + std::to_string(i) + "\n";
  }
  return lines;
}

// Both are promises to deliver.
bool accepted_reply(const std::string& reply) {
  return reply == sent_reply || reply == queued_reply;
}

}  // namespace

TEST_CASE("a peer stopped with SIGTERM gets the 200 messages queued meanwhile, once each") {
  Pair p;
  p.alpha->start();
  p.beta->start();
  auto messi = login(*p.alpha, "messi");
  REQUIRE(eventually([&] { return linked(*messi, "beta"); }));

  CHECK(p.beta->terminate() == 0);
  REQUIRE(eventually([&] { return !linked(*messi, "beta"); }));
  constexpr int count = 200;
  std::vector<bool> accepted(count);
  messi->send_raw(sends(0, count));
  for (int i = 0; i < count; ++i) {
    const std::string reply = messi->expect_reply();
    CHECK(reply == queued_reply);
    accepted[static_cast<std::size_t>(i)] = reply == queued_reply;
  }

  p.beta->start();
  REQUIRE(eventually([&] { return drained(*messi, "beta"); }, 30s));
  auto jokowi = login(*p.beta, "jokowi");
  const Tally t = tally(count, accepted, drain_realm_inbox(*jokowi));
  CHECK(t.accepted == count);
  CHECK(t.delivered == count);
  CHECK(t.lost == 0);
  CHECK(t.duplicated == 0);
}

TEST_CASE("SIGKILL of the sender while its outbox holds messages loses none of them") {
  Pair p;
  p.alpha->start();  // beta is down: everything is queued
  constexpr int count = 300;
  std::vector<bool> accepted(count);
  {
    auto messi = login(*p.alpha, "messi");
    messi->send_raw(sends(0, count));
    for (int i = 0; i < count; ++i) {
      accepted[static_cast<std::size_t>(i)] = messi->expect_reply() == queued_reply;
    }
    p.alpha->kill9();  // right after the last "queued": the outbox must be durable
  }
  p.alpha->start();
  p.beta->start();
  auto messi = login(*p.alpha, "messi");
  REQUIRE(eventually([&] { return drained(*messi, "beta"); }, 30s));
  auto jokowi = login(*p.beta, "jokowi");
  const Tally t = tally(count, accepted, drain_realm_inbox(*jokowi));
  CHECK(t.accepted == count);
  CHECK(t.lost == 0);
  CHECK(t.duplicated == 0);
}

TEST_CASE("SIGKILL of the receiver in a stream of 10,000 messages: none lost, none twice") {
  Pair p;
  p.alpha->start();
  p.beta->start();
  constexpr int connections = 4;
  constexpr int per_connection = 2500;
  constexpr int count = connections * per_connection;
  std::vector<bool> accepted(count);
  int acknowledged = 0;  // answered after beta's ack
  int queued = 0;        // answered "queued": link down, or no ack within 2 s
  const auto take_reply = [&](LineClient& sender, int i) {
    const std::string reply = sender.expect_reply(30s);
    accepted[static_cast<std::size_t>(i)] = accepted_reply(reply);
    if (reply == sent_reply) ++acknowledged;
    if (reply == queued_reply) ++queued;
  };

  std::vector<std::unique_ptr<LineClient>> senders;
  for (int c = 0; c < connections; ++c) senders.push_back(login(*p.alpha, "messi"));
  REQUIRE(eventually([&] { return linked(*senders[0], "beta"); }));

  // Every connection pipelines its whole share; the replies come as beta acks (or as
  // "queued" once the link is down or the ack is late).
  for (int c = 0; c < connections; ++c) {
    senders[static_cast<std::size_t>(c)]->send_raw(sends(c * per_connection, per_connection));
  }
  // Kill beta mid-stream: once alpha's outbox for beta has shrunk by a quarter of the stream
  // from its peak (that much acked), while thousands are still on their way.
  auto monitor = login(*p.alpha, "messi");
  const auto queued_now = [&] {
    const std::string entry = realm_entry(*monitor, "beta");
    constexpr std::string_view key = R"("queued":)";
    return std::stoi(entry.substr(entry.find(key) + key.size()));
  };
  int peak = 0;
  int at_kill = 0;
  REQUIRE(eventually(
      [&] {
        at_kill = queued_now();
        peak = std::max(peak, at_kill);
        return peak - at_kill >= count / 4;
      },
      60s));
  p.beta->kill9();
  MESSAGE("receiver killed with " << at_kill << " messages in alpha's outbox (peak " << peak
                                  << ")");
  CHECK(at_kill > 0);
  p.beta->start();

  for (int c = 0; c < connections; ++c) {
    for (int i = c * per_connection; i < (c + 1) * per_connection; ++i) {
      take_reply(*senders[static_cast<std::size_t>(c)], i);
    }
  }
  MESSAGE("replies: acknowledged=" << acknowledged << " queued=" << queued);

  REQUIRE(eventually([&] { return drained(*monitor, "beta"); }, 60s));
  auto jokowi = login(*p.beta, "jokowi");
  const Tally t = tally(count, accepted, drain_realm_inbox(*jokowi));
  CHECK(t.accepted == count);
  CHECK(t.delivered == count);
  CHECK(t.lost == 0);
  CHECK(t.duplicated == 0);
}

TEST_CASE("a peer added with addrealm HOST PORT is linked again after a restart") {
  Pair p;
  std::filesystem::create_directories(p.dir.path() / "gamma");
  RealmdProcess gamma(p.dir.path() / "gamma",
                      RealmdProcess::config_yaml("gamma", p.dir.path() / "gamma" / "data",
                                                 "users: [{username: ronaldo, password: pw, nama: "
                                                 "Cristiano_Ronaldo, negara: Portugal}]\n"));
  gamma.start();
  p.alpha->start();
  const std::string address = "127.0.0.1 " + std::to_string(gamma.peer_port());
  {
    auto messi = login(*p.alpha, "messi");
    CHECK(messi->request("addrealm gamma " + address) ==
          R"({"status":"OK","message":"Realm added successfully","state":"connected"})");
    CHECK(messi->request("sendprivaterealm gamma ronaldo ola") == sent_reply);
  }
  CHECK(p.alpha->terminate() == 0);
  p.alpha->start();
  auto messi = login(*p.alpha, "messi");
  REQUIRE(eventually([&] { return linked(*messi, "gamma"); }));
  CHECK(realm_entry(*messi, "gamma") ==
        R"({"name":"gamma","state":"linked","address":"127.0.0.1:)" +
            std::to_string(gamma.peer_port()) + R"(","queued":0,"last_error":""})");
  CHECK(messi->request("addrealm gamma " + address) ==
        R"({"status":"ERROR","message":"Realm sudah ada"})");
  CHECK(messi->request("sendprivaterealm gamma ronaldo lagi") == sent_reply);
  auto ronaldo = login(gamma, "ronaldo");
  const std::string inbox = ronaldo->request("getrealminbox alpha");
  CHECK(inbox.find(R"("msg":"ola")") != std::string::npos);
  CHECK(inbox.find(R"("msg":"lagi")") != std::string::npos);
}
