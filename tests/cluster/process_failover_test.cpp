// Real realmd processes on a real PostgreSQL (a private one, tests/support/postgres_server.hpp):
// a holder and a standby of one realm, the holder killed or paused, the database restarted.
// Each case prints sent / acknowledged / stored / lost / duplicated and, for a failover, the
// takeover time (docs/reliability.md).
#include <doctest/doctest.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "federation/frames.hpp"
#include "support/delivery_checks.hpp"
#include "support/free_port.hpp"
#include "support/hand_made_peer.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/postgres_server.hpp"
#include "support/realmd_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using test_support::LineClient;
using test_support::RealmdProcess;
using test_support::shared_postgres;
using test_support::TempDir;

namespace {

const std::string message_sent = R"({"status":"OK","message":"Message sent"})";

bool is_ok(const std::string& reply) {
  return reply.starts_with(R"({"status":"OK")");
}

std::string token_of(const std::string& reply) {
  const auto at = reply.find(R"("tokenid":")");
  REQUIRE(at != std::string::npos);
  return reply.substr(at + 11, 36);
}

// A realm on the shared test PostgreSQL, named uniquely per test so that cases never share rows.
struct PostgresRealm {
  std::string name;
  std::string yaml_extra;

  explicit PostgresRealm(const std::string& realm, std::chrono::milliseconds lease = 1000ms)
      : name(realm),
        yaml_extra("store: {url: '" + shared_postgres().url() +
                   "', lease_ms: " + std::to_string(lease.count()) +
                   "}\n"
                   "users: [{username: bob, password: pw, nama: Bob_B, negara: Builder}]\n") {}

  std::string config(const TempDir& dir, const std::string& process) const {
    return RealmdProcess::config_yaml(name, dir.path() / ("data-" + process), yaml_extra);
  }

  // Messages stored for bob, in all copies.
  static int copies(const std::map<std::string, int>& stored) {
    int total = 0;
    for (const auto& [text, count] : stored) total += count;
    return total;
  }

  // Message texts stored for bob, each with the number of copies.
  std::map<std::string, int> stored() const {
    std::map<std::string, int> seen;
    std::istringstream rows(shared_postgres().query(
        "SELECT body FROM realmchat.messages WHERE realm = '" + name + "' AND recipient = 'bob'"));
    for (std::string line; std::getline(rows, line);) {
      if (!line.empty()) ++seen[line];
    }
    return seen;
  }
};

// GET `path` from an admin listener; the whole response, head and body.
std::string admin_get(std::uint16_t port, const std::string& path) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), port});
  asio::write(socket,
              asio::buffer("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string response;
  std::error_code ignored;
  asio::read(socket, asio::dynamic_buffer(response), ignored);
  return response;
}

// Clients sending, one thread each, one request at a time, until stopped or their connection
// fails: `command` + " " + a unique text (e.g. "send bob m-3-17"). Each registers as
// `user_prefix` + its number first. What each sent and which were promised (OK) are kept.
class Senders {
 public:
  Senders(std::uint16_t port, int count, std::string command = "send bob",
          const std::string& user_prefix = "sender")
      : command_(std::move(command)) {
    for (int i = 0; i < count; ++i) {
      auto client = std::make_unique<LineClient>(port);
      const std::string name = user_prefix + std::to_string(i);
      REQUIRE(
          is_ok(client->request("register " + name + " pw Sender_" + std::to_string(i) + " X")));
      clients_.push_back(std::move(client));
    }
  }
  ~Senders() { stop(); }

  void start() {
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      threads_.emplace_back([this, i] { run(i); });
    }
  }
  void stop() {
    stopping_ = true;
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }
  int acked() const { return acked_.load(); }
  // After stop().
  const std::vector<std::string>& texts() const { return texts_; }
  const std::vector<bool>& accepted() const { return accepted_; }

 private:
  void run(std::size_t index) {
    LineClient& client = *clients_[index];
    for (int k = 0; !stopping_; ++k) {
      const std::string text = command_.substr(command_.rfind(' ') + 1) + "-" +
                               std::to_string(index) + "-" + std::to_string(k);
      bool ok = false;
      bool broken = false;
      try {
        const std::string reply = client.request(command_ + " " + text, 5s);
        ok = reply == message_sent || reply == test_support::sent_to_realm_reply ||
             reply == test_support::queued_for_realm_reply;
      } catch (const std::exception&) {
        broken = true;  // the holder died or closed the connection
      }
      {
        std::lock_guard lock(mutex_);
        texts_.push_back(text);
        accepted_.push_back(ok);
      }
      if (ok) ++acked_;
      if (broken) return;
    }
  }

  std::string command_;
  std::vector<std::unique_ptr<LineClient>> clients_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_ = false;
  std::atomic<int> acked_ = 0;
  std::mutex mutex_;
  std::vector<std::string> texts_;
  std::vector<bool> accepted_;
};

}  // namespace

TEST_CASE("holder kill -9 during 50 clients' sends: the standby takes over, nothing acked lost") {
  TempDir dir;
  const PostgresRealm realm("failover_kill");
  RealmdProcess holder(dir.path(), realm.config(dir, "a"));
  holder.start();
  TempDir standby_dir;
  RealmdProcess standby(standby_dir.path(), realm.config(standby_dir, "b"));
  standby.start_standby();

  LineClient course(holder.client_port());
  const std::string token = token_of(course.request("auth bob pw"));

  Senders senders(holder.client_port(), 50);
  senders.start();
  REQUIRE(test_support::eventually([&] { return senders.acked() >= 500; }, 30s));
  const auto killed = std::chrono::steady_clock::now();
  holder.kill9();
  REQUIRE(standby.wait_serving(10s));
  const std::chrono::duration<double> takeover = std::chrono::steady_clock::now() - killed;
  senders.stop();

  const auto stored = realm.stored();
  const test_support::Tally tally =
      test_support::tally(senders.texts(), senders.accepted(), stored);
  MESSAGE("kill -9 of the holder: sent "
          << tally.sent << ", acknowledged " << tally.accepted << ", stored "
          << PostgresRealm::copies(stored) << ", lost " << tally.lost << ", duplicated "
          << tally.duplicated << ", takeover " << takeover.count() << " s");
  CHECK(tally.accepted >= 500);
  CHECK(tally.lost == 0);
  CHECK(tally.duplicated == 0);

  // The new holder serves, and a token from before the failover still works.
  LineClient after(standby.client_port());
  CHECK(after.request("send " + token + " bob after the failover") == message_sent);
  CHECK(after.request("inbox " + token).find("after the failover") != std::string::npos);
}

TEST_CASE("holder SIGSTOPped past its lease: the standby takes over, the old one commits nothing") {
  TempDir dir;
  const PostgresRealm realm("failover_pause");
  RealmdProcess holder(dir.path(), realm.config(dir, "a"));
  holder.start();
  TempDir standby_dir;
  RealmdProcess standby(standby_dir.path(), realm.config(standby_dir, "b"));
  standby.start_standby();

  LineClient paused_client(holder.client_port());
  const std::string token = token_of(paused_client.request("auth bob pw"));
  REQUIRE(paused_client.request("send bob before the pause") == message_sent);

  holder.pause();
  const auto paused = std::chrono::steady_clock::now();
  REQUIRE(standby.wait_serving(10s));
  const std::chrono::duration<double> takeover = std::chrono::steady_clock::now() - paused;
  // Requests the old holder will find when it wakes up: none may be answered OK.
  paused_client.send("send bob while paused");
  paused_client.send("inbox");
  paused_client.send("send bob while paused again");
  holder.resume();

  // It notices that it lost the lease and exits (code 3), answering nothing OK on the way.
  const std::optional<int> exit_code = holder.wait_exit(10s);
  CHECK(exit_code == 3);
  int ok_after_takeover = 0;
  for (int i = 0; i < 3; ++i) {
    try {
      if (is_ok(paused_client.expect_reply(2s))) ++ok_after_takeover;
    } catch (const std::exception&) {
      break;  // closed without a reply
    }
  }
  const std::map<std::string, int> stored = realm.stored();
  MESSAGE("SIGSTOP of the holder: takeover "
          << takeover.count() << " s; OK replies from the old "
          << "holder after it: " << ok_after_takeover << "; its writes after it: "
          << stored.count("while paused") + stored.count("while paused again"));
  CHECK(ok_after_takeover == 0);
  CHECK(stored.count("before the pause") == 1);
  CHECK(stored.count("while paused") == 0);
  CHECK(stored.count("while paused again") == 0);
  CHECK(holder.log().find("lost the lease") != std::string::npos);

  // The client carries on at the new holder with its token.
  LineClient moved(standby.client_port());
  CHECK(moved.request("send " + token + " bob at the new holder") == message_sent);
  CHECK(realm.stored().count("at the new holder") == 1);
}

TEST_CASE("the database restarted under load: nothing acknowledged is lost") {
  TempDir dir;
  // A lease longer than the restart: the holder keeps it and rides through.
  const PostgresRealm realm("db_restart", 5000ms);
  RealmdProcess holder(dir.path(), realm.config(dir, "a"));
  holder.start();

  Senders senders(holder.client_port(), 20);
  senders.start();
  REQUIRE(test_support::eventually([&] { return senders.acked() >= 200; }, 30s));
  shared_postgres().restart();
  const int acked_at_restart = senders.acked();
  // Sends are acknowledged again once realmd has reconnected.
  CHECK(test_support::eventually([&] { return senders.acked() >= acked_at_restart + 200; }, 30s));
  senders.stop();

  const auto stored = realm.stored();
  const test_support::Tally tally =
      test_support::tally(senders.texts(), senders.accepted(), stored);
  MESSAGE("pg_ctl restart under load: sent " << tally.sent << ", acknowledged " << tally.accepted
                                             << ", stored " << PostgresRealm::copies(stored)
                                             << ", lost " << tally.lost << ", duplicated "
                                             << tally.duplicated);
  CHECK(tally.lost == 0);
  CHECK(tally.duplicated == 0);
  CHECK(holder.running());
  // The restart did reach realmd: a commit failed, and commits resumed on a new connection.
  CHECK(holder.log().find("store commits again") != std::string::npos);
  CHECK(holder.log().find("lost the lease") == std::string::npos);
}

TEST_CASE("cross-realm traffic both ways across a failover: every promised message exactly once") {
  const std::uint16_t holder_peer_port = test_support::free_port();
  const std::uint16_t standby_peer_port = test_support::free_port();
  const std::uint16_t beta_peer_port = test_support::free_port();
  PostgresRealm alpha("xalpha");
  alpha.yaml_extra +=
      "peers: [{name: xbeta, address: '127.0.0.1:" + std::to_string(beta_peer_port) + "'}]\n";
  TempDir holder_dir;
  RealmdProcess holder(holder_dir.path(),
                       RealmdProcess::config_yaml(alpha.name, holder_dir.path() / "data",
                                                  alpha.yaml_extra, holder_peer_port));
  holder.start();
  TempDir standby_dir;
  RealmdProcess standby(standby_dir.path(),
                        RealmdProcess::config_yaml(alpha.name, standby_dir.path() / "data",
                                                   alpha.yaml_extra, standby_peer_port));
  standby.start_standby();
  // beta (SQLite) knows both of alpha's processes and dials them in turn.
  TempDir beta_dir;
  RealmdProcess beta(
      beta_dir.path(),
      RealmdProcess::config_yaml(
          "xbeta", beta_dir.path() / "data",
          "peers: [{name: xalpha, address: ['127.0.0.1:" + std::to_string(holder_peer_port) +
              "', '127.0.0.1:" + std::to_string(standby_peer_port) +
              "']}]\n"
              "users: [{username: carol, password: pw, nama: Carol_C, negara: C}]\n",
          beta_peer_port));
  beta.start();
  auto carol = test_support::login(beta, "carol");
  REQUIRE(test_support::eventually([&] { return test_support::linked(*carol, "xalpha"); }, 10s));

  Senders to_beta(holder.client_port(), 10, "sendprivaterealm xbeta carol", "alice");
  Senders to_alpha(beta.client_port(), 10, "sendprivaterealm xalpha bob", "dave");
  to_beta.start();
  to_alpha.start();
  REQUIRE(test_support::eventually(
      [&] { return to_beta.acked() >= 100 && to_alpha.acked() >= 100; }, 30s));
  const auto killed = std::chrono::steady_clock::now();
  holder.kill9();
  REQUIRE(standby.wait_serving(10s));
  const std::chrono::duration<double> takeover = std::chrono::steady_clock::now() - killed;
  const int promised_at_takeover = to_alpha.acked();
  // beta keeps sending to alpha through the failover, then finds the new holder.
  CHECK(test_support::eventually([&] { return to_alpha.acked() >= promised_at_takeover + 100; },
                                 30s));
  to_beta.stop();
  to_alpha.stop();

  auto bob = test_support::login(standby, "bob");
  CHECK(test_support::eventually(
      [&] {
        return test_support::drained(*carol, "xalpha") && test_support::drained(*bob, "xbeta");
      },
      30s));
  const std::map<std::string, int> at_alpha = alpha.stored();
  std::map<std::string, int> at_beta;
  test_support::drain_messages(*carol, "getrealminbox xalpha", at_beta);

  const auto into_alpha = test_support::tally(to_alpha.texts(), to_alpha.accepted(), at_alpha);
  const auto into_beta = test_support::tally(to_beta.texts(), to_beta.accepted(), at_beta);
  MESSAGE("failover with cross-realm traffic, takeover "
          << takeover.count() << " s; beta->alpha: sent " << into_alpha.sent << ", acknowledged "
          << into_alpha.accepted << ", stored " << PostgresRealm::copies(at_alpha) << ", lost "
          << into_alpha.lost << ", duplicated " << into_alpha.duplicated << "; alpha->beta: sent "
          << into_beta.sent << ", acknowledged " << into_beta.accepted << ", stored "
          << PostgresRealm::copies(at_beta) << ", lost " << into_beta.lost << ", duplicated "
          << into_beta.duplicated);
  CHECK(into_alpha.lost == 0);
  CHECK(into_alpha.duplicated == 0);
  CHECK(into_beta.lost == 0);
  CHECK(into_beta.duplicated == 0);
}

TEST_CASE("the admin endpoint of a standby says so; after the takeover it says ok") {
  TempDir dir;
  PostgresRealm realm("failover_admin");
  const auto with_admin = [](std::string yaml) {
    const std::string listen = "  listen: 127.0.0.1:0\n";
    yaml.insert(yaml.find(listen) + listen.size(), "  admin_listen: 127.0.0.1:0\n");
    return yaml;
  };
  RealmdProcess holder(dir.path(), with_admin(realm.config(dir, "a")));
  holder.start();
  TempDir standby_dir;
  RealmdProcess standby(standby_dir.path(), with_admin(realm.config(standby_dir, "b")));
  standby.start_standby();
  REQUIRE(test_support::eventually([&] {
    standby.wait_serving(0ms);  // reads the admin port the log names, serving or not
    return standby.admin_port() != 0;
  }));

  const std::string waiting = admin_get(standby.admin_port(), "/healthz");
  CHECK(waiting.starts_with("HTTP/1.1 503"));
  CHECK(waiting.find("standby") != std::string::npos);
  CHECK(admin_get(standby.admin_port(), "/metrics").find("\nrealmchat_is_primary 0") !=
        std::string::npos);
  CHECK(admin_get(holder.admin_port(), "/healthz").starts_with("HTTP/1.1 200"));
  CHECK(admin_get(holder.admin_port(), "/metrics").find("\nrealmchat_is_primary 1") !=
        std::string::npos);

  holder.kill9();
  REQUIRE(standby.wait_serving(10s));
  CHECK(admin_get(standby.admin_port(), "/healthz").starts_with("HTTP/1.1 200"));
  CHECK(admin_get(standby.admin_port(), "/metrics").find("\nrealmchat_is_primary 1") !=
        std::string::npos);
}

namespace {

namespace federation = chat::federation;
namespace frames = chat::frames;

// The first route announcement on a link from the hand-made peer.
frames::Route first_announcement(LineClient& link) {
  return std::get<frames::Route>(test_support::next_frame(link, "route"));
}

// Announces a realm z behind the hand-made peer, with `key` as z's signing key.
void announce_z(LineClient& link, const std::string& key) {
  link.send(federation::encode(
      frames::Route{.via_others = true, .routes = {{"x"}, {"x", "z"}}, .keys = {{"z", key}}}));
}

}  // namespace

TEST_CASE("a standby with a data_dir of its own serves with the holder's signing key and pins") {
  // The holder and the standby share only the database: each has a data_dir of its own (as on
  // two machines). x, a realm written by hand, links to whichever serves.
  const PostgresRealm realm("failover_identity");
  TempDir holder_dir;
  RealmdProcess holder(holder_dir.path(), realm.config(holder_dir, "holder"));
  holder.start();
  TempDir standby_dir;
  RealmdProcess standby(standby_dir.path(), realm.config(standby_dir, "standby"));
  standby.start_standby();
  const test_support::HandMadePeer x{.name = "x", .secret = "test-secret"};

  std::string holder_key;
  {
    LineClient link(holder.peer_port());
    x.dial(link, realm.name);
    holder_key = first_announcement(link).keys[realm.name];
    announce_z(link, std::string(64, 'a'));
    REQUIRE(test_support::eventually([&] {
      return holder.log().find("pinned the signing key of realm z (stored)") != std::string::npos;
    }));
  }
  REQUIRE(holder_key.size() == 64);
  holder.kill9();
  REQUIRE(standby.wait_serving(10s));

  LineClient link(standby.peer_port());
  x.dial(link, realm.name);
  // A realm that pinned the holder's key accepts what the new holder signs.
  CHECK(first_announcement(link).keys[realm.name] == holder_key);
  CHECK(standby.log().find("signing key " + holder_key + " (from the store)") != std::string::npos);
  // The holder's pin holds at the standby: another key for z is not taken.
  announce_z(link, std::string(64, 'b'));
  CHECK(test_support::eventually([&] {
    return standby.log().find("carries another signing key for realm z: kept the pinned one") !=
           std::string::npos;
  }));
}
