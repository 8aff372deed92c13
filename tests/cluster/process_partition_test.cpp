// The holder of a realm on PostgreSQL cut off from the database by a real network partition,
// its clients still connected (docs/reliability.md). PostgreSQL runs in a network namespace of
// its own and listens on two veth links: one to the holder's namespace, one to the standby's.
// Each realmd serves its clients on the 127.0.0.1 of its own namespace, so that the test's
// clients (sockets made inside that namespace) stay connected when the holder's link to the
// database is set down. Needs root (ip netns); under CI a missing capability fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/line_client.hpp"
#include "support/net_namespace.hpp"
#include "support/poll.hpp"
#include "support/postgres_server.hpp"
#include "support/realmd_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using test_support::LineClient;
using test_support::NetNamespace;
using test_support::PostgresServer;
using test_support::RealmdProcess;
using test_support::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

const std::string message_sent = R"({"status":"OK","message":"Message sent"})";
const std::string store_failed =
    R"({"status":"ERROR","message":"Gagal menyimpan, coba lagi nanti"})";
constexpr std::chrono::milliseconds lease{1000};

// The addresses of the two links (private to the test's namespaces, so never in conflict).
const std::string db_for_holder = "10.231.1.1";
const std::string holder_address = "10.231.1.2";
const std::string db_for_standby = "10.231.2.1";
const std::string standby_address = "10.231.2.2";

bool is_ok(const std::string& reply) {
  return reply.starts_with(R"({"status":"OK")");
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// One request of a Prober and what came back.
struct Exchange {
  std::string request;
  Clock::time_point sent;
  Clock::time_point answered;
  std::optional<std::string> reply;  // nothing: the connection ended (or stayed silent) first
};

// A client making requests one at a time on its own thread, request(k) for k = 0, 1, ..., each
// waiting up to `wait` for its reply, until stopped or its connection ends. Records every one.
class Prober {
 public:
  Prober(std::unique_ptr<LineClient> client, std::function<std::string(int)> request,
         std::chrono::milliseconds wait)
      : client_(std::move(client)), request_(std::move(request)), wait_(wait) {}
  ~Prober() { stop(); }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool ended() const { return ended_; }
  std::vector<Exchange> exchanges() const {
    std::lock_guard lock(mutex_);
    return exchanges_;
  }
  // Replies satisfying `pred` to requests sent in [from, to).
  int count(Clock::time_point from, Clock::time_point to,
            const std::function<bool(const std::string&)>& pred) const {
    int n = 0;
    for (const Exchange& e : exchanges()) {
      if (e.sent >= from && e.sent < to && e.reply && pred(*e.reply)) ++n;
    }
    return n;
  }

 private:
  void run() {
    for (int k = 0; !stopping_; ++k) {
      Exchange exchange{request_(k), Clock::now(), {}, std::nullopt};
      try {
        exchange.reply = client_->request(exchange.request, wait_);
      } catch (const std::exception&) {
        // Closed (the old holder exited) or silent past the deadline: a later reply could no
        // longer be matched to its request, so this client is done.
      }
      exchange.answered = Clock::now();
      const bool answered = exchange.reply.has_value();
      {
        std::lock_guard lock(mutex_);
        exchanges_.push_back(std::move(exchange));
      }
      if (!answered) break;
      std::this_thread::sleep_for(10ms);  // pacing only: a few hundred requests, not millions
    }
    ended_ = true;
  }

  std::unique_ptr<LineClient> client_;
  std::function<std::string(int)> request_;
  std::chrono::milliseconds wait_;
  std::thread thread_;
  std::atomic<bool> stopping_ = false;
  std::atomic<bool> ended_ = false;
  mutable std::mutex mutex_;
  std::vector<Exchange> exchanges_;
};

// Every row of `realm` in every table of the schema, as one digest per table: equal digests
// mean nobody wrote anything for the realm in between.
std::string realm_rows(const PostgresServer& db, const std::string& realm) {
  std::string sql = "SELECT ''";
  for (const char* table : {"users", "groups", "members", "messages", "history", "outbox", "seen",
                            "peers", "refused", "sessions", "meta"}) {
    sql += std::string(" || '") + table + "=' || (SELECT count(*) || ':' || md5(coalesce(" +
           "string_agg(t::text, ',' ORDER BY t::text), '')) FROM realmchat." + table +
           " AS t WHERE realm = '" + realm + "') || ' '";
  }
  return db.query(sql);
}

// The epoch a realmd logged when it started serving (0 if it has not).
long long served_epoch(const RealmdProcess& process) {
  static const std::regex serving(R"(serving as the lease holder \(epoch (\d+)\))");
  std::smatch match;
  const std::string log = process.log();
  return std::regex_search(log, match, serving) ? std::stoll(match[1]) : 0;
}

std::string token_of(const std::string& reply) {
  const auto at = reply.find(R"("tokenid":")");
  REQUIRE(at != std::string::npos);
  return reply.substr(at + 11, 36);
}

// A realm on PostgreSQL across three network namespaces: the database's, with a veth link to
// the holder's and one to the standby's; the holder serving, the standby waiting.
struct PartitionedRealm {
  const std::string realm = "partitioned";
  const NetNamespace db_ns{"db"};
  const NetNamespace holder_ns{"holder"};
  const NetNamespace standby_ns{"standby"};
  test_support::VethLink holder_link{db_ns,     "to-holder", db_for_holder,
                                     holder_ns, "to-db",     holder_address};
  const test_support::VethLink standby_link{db_ns,      "to-standby", db_for_standby,
                                            standby_ns, "to-db",      standby_address};
  const PostgresServer db{{db_ns.name(), db_for_holder + "," + db_for_standby, "10.231.0.0/16"}};
  TempDir holder_dir;
  TempDir standby_dir;
  RealmdProcess holder{holder_dir.path(), config(holder_dir, db_for_holder)};
  RealmdProcess standby{standby_dir.path(), config(standby_dir, db_for_standby)};

  PartitionedRealm() {
    holder.set_network_namespace(holder_ns.name());
    holder.start();
    standby.set_network_namespace(standby_ns.name());
    standby.start_standby();
  }

  std::string config(const TempDir& dir, const std::string& db_address) const {
    return RealmdProcess::config_yaml(
        realm, dir.path() / "data",
        "store: {url: '" + db.tcp_url(db_address) +
            "', lease_ms: " + std::to_string(lease.count()) +
            "}\nusers: [{username: bob, password: pw, nama: Bob_B, negara: Builder}]\n");
  }
  // A client of the holder, connected inside its namespace (the cut leaves it connected).
  std::unique_ptr<LineClient> holder_client() const {
    return holder_ns.inside([&] { return std::make_unique<LineClient>(holder.client_port()); });
  }
  // A new client of the holder asks `info bob` (a read, with nothing of its own waiting for a
  // commit, so only the lease check can refuse it): its reply, or why there was none.
  std::string newcomer_reply() const {
    try {
      return holder_client()->request("info bob", 3s);
    } catch (const std::exception& e) {
      return std::string("(no reply: ") + e.what() + ")";
    }
  }
  // The realm's history: each message text with its number of copies.
  std::map<std::string, int> stored() const {
    std::map<std::string, int> copies;
    std::istringstream rows(
        db.query("SELECT body FROM realmchat.history WHERE realm = '" + realm + "'"));
    for (std::string line; std::getline(rows, line);) ++copies[line];
    return copies;
  }
};

// What the old holder's clients got, from the cut on.
struct AfterTheCut {
  int sends = 0;               // sends made after the cut
  int send_oks = 0;            // of them answered OK
  int sends_stored = 0;        // of them in the database
  int oks_after_takeover = 0;  // OK replies (to anything) received after the takeover was seen
  int acked_lost = 0;          // sends answered OK (before the cut) and not stored exactly once
  Clock::time_point last_ok;   // the last OK reply received (to anything, before or after the cut)
};

AfterTheCut tally_after_cut(const PartitionedRealm& setup, const std::vector<const Prober*>& all,
                            Clock::time_point cut, Clock::time_point took_over) {
  AfterTheCut out;
  const std::map<std::string, int> stored = setup.stored();
  const auto copies = [&](const std::string& text) {
    const auto found = stored.find(text);
    return found == stored.end() ? 0 : found->second;
  };
  for (const Prober* prober : all) {
    for (const Exchange& e : prober->exchanges()) {
      const bool ok = e.reply && is_ok(*e.reply);
      const bool is_send = e.request.starts_with("send bob ");
      if (ok) out.last_ok = std::max(out.last_ok, e.answered);
      if (ok && e.answered >= took_over) ++out.oks_after_takeover;
      if (!is_send) continue;
      const std::string text = e.request.substr(9);
      if (ok && copies(text) != 1) ++out.acked_lost;
      if (e.sent < cut) continue;
      ++out.sends;
      if (ok) ++out.send_oks;
      out.sends_stored += copies(text);
    }
  }
  return out;
}

bool refused(const std::string& reply) {
  return reply == store_failed;
}

// The holder's clients, each on its own connection: a reader (`info`, a read) and two writers
// (`send`, answered after its commit), one of them started only at the cut, so that its sends
// reach the holder only while it is cut off.
struct HolderClients {
  std::string token;  // bob's, from before the partition
  std::unique_ptr<Prober> reader;
  std::unique_ptr<Prober> writer;
  std::unique_ptr<Prober> late_writer;

  explicit HolderClients(const PartitionedRealm& setup) {
    auto reader_client = setup.holder_client();
    token = token_of(reader_client->request("auth bob pw"));
    auto writer_client = setup.holder_client();
    REQUIRE(is_ok(writer_client->request("register writer pw Writer_W X")));
    auto late_client = setup.holder_client();
    REQUIRE(is_ok(late_client->request("register late pw Late_L X")));
    reader = std::make_unique<Prober>(
        std::move(reader_client), [](int) { return std::string("info bob"); }, 30s);
    writer = std::make_unique<Prober>(
        std::move(writer_client), [](int k) { return "send bob early-" + std::to_string(k); }, 30s);
    late_writer = std::make_unique<Prober>(
        std::move(late_client), [](int k) { return "send bob late-" + std::to_string(k); }, 30s);
  }
  std::vector<const Prober*> all() const { return {reader.get(), writer.get(), late_writer.get()}; }
  bool any_ended() const { return reader->ended() || writer->ended() || late_writer->ended(); }
  bool all_ended() const { return reader->ended() && writer->ended() && late_writer->ended(); }
};

}  // namespace

TEST_CASE(
    "the holder cut off from the database by a network partition: it stops answering OK "
    "within its lease, the standby takes over, the old holder writes nothing" *
    test_support::needs_network_namespaces()) {
  PartitionedRealm setup;
  const long long holder_epoch = served_epoch(setup.holder);
  REQUIRE(holder_epoch > 0);
  HolderClients clients(setup);
  clients.reader->start();
  clients.writer->start();
  REQUIRE(test_support::eventually([&] {
    return clients.reader->count(Clock::time_point::min(), Clock::now(), is_ok) >= 5 &&
           clients.writer->count(Clock::time_point::min(), Clock::now(), is_ok) >= 5;
  }));

  // The link is down once `ip` returns: whatever is sent from then on cannot reach the database.
  setup.holder_link.cut();
  const Clock::time_point cut = Clock::now();
  clients.late_writer->start();
  // Within its lease: the holder's last good renewal started before the cut, so from cut +
  // lease on it refuses every new request (and the expiry the database holds, after which a
  // standby may take over, is no earlier). A new client asks at that moment.
  auto at_lease_end = std::async(std::launch::async, [&] {
    std::this_thread::sleep_until(cut + lease);
    return setup.newcomer_reply();
  });
  REQUIRE(setup.standby.wait_serving(15s));
  const Clock::time_point took_over = Clock::now();
  const std::string newcomer_at_lease_end = at_lease_end.get();
  CHECK(newcomer_at_lease_end == store_failed);
  CHECK(setup.newcomer_reply() == store_failed);
  // Past the store's 5 s stall the sends waiting for a commit are answered (the error), and the
  // writers send again, refused: the clients stay connected to a holder that answers no OK.
  CHECK(test_support::eventually(
      [&] {
        return clients.writer->count(cut, Clock::now(), refused) > 0 &&
               clients.late_writer->count(cut, Clock::now(), refused) > 0;
      },
      15s));
  CHECK_FALSE(clients.any_ended());
  const std::string rows_at_takeover = realm_rows(setup.db, setup.realm);

  setup.holder_link.restore();
  const Clock::time_point restored = Clock::now();
  // Back on the database, the old holder finds the new epoch and steps down (exit code 3).
  const std::optional<int> exit_code = setup.holder.wait_exit(30s);
  const Clock::time_point exited = Clock::now();
  CHECK(exit_code == 3);
  CHECK(setup.holder.log().find("lost the lease") != std::string::npos);
  // Which of its threads met the new epoch first: the lease keeper (renewal) or a commit (fence).
  const bool fenced = setup.holder.log().find("served by another process now") != std::string::npos;
  CHECK(test_support::eventually([&] { return clients.all_ended(); }, 10s));

  // Fencing: what the old holder still held when the link came back never reached the database.
  CHECK(realm_rows(setup.db, setup.realm) == rows_at_takeover);
  const long long standby_epoch = served_epoch(setup.standby);
  CHECK(standby_epoch > holder_epoch);
  CHECK(setup.db.query("SELECT epoch FROM realmchat.lease WHERE realm = '" + setup.realm + "'") ==
        std::to_string(standby_epoch));
  const AfterTheCut after = tally_after_cut(setup, clients.all(), cut, took_over);
  MESSAGE("network partition of the holder (lease "
          << lease.count() << " ms): last OK received at cut + " << seconds(after.last_ok - cut)
          << " s; at cut + lease a new client got " << newcomer_at_lease_end << "; takeover seen "
          << seconds(took_over - cut) << " s after the cut; old holder exited "
          << seconds(exited - restored) << " s after the link came back; sends after the cut "
          << after.sends << " (OK " << after.send_oks << ", stored " << after.sends_stored
          << "); OKs after the takeover " << after.oks_after_takeover << "; acknowledged and lost "
          << after.acked_lost << "; epochs " << holder_epoch << " -> " << standby_epoch
          << "; a commit "
          << std::string(fenced ? "was fenced"
                                : "was not tried (the renewal saw the new epoch first)"));
  CHECK(after.sends > 0);
  CHECK(after.send_oks == 0);
  CHECK(after.sends_stored == 0);
  CHECK(after.oks_after_takeover == 0);
  CHECK(after.acked_lost == 0);

  // The new holder serves the realm, and the token from before the partition works there.
  auto moved = setup.standby_ns.inside(
      [&] { return std::make_unique<LineClient>(setup.standby.client_port()); });
  CHECK(moved->request("send " + clients.token + " bob after the partition") == message_sent);
  CHECK(setup.stored()["after the partition"] == 1);
}
