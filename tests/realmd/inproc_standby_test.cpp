// In-process RealmServers of one realm on PostgreSQL (a private server: tests/support): one
// holds the lease and serves, the other waits as a standby with no listener; a clean stop of
// the holder hands the lease over at once, and the standby serves the same realm.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include "store/postgres_lease.hpp"
#include "store/postgres_store.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/postgres_server.hpp"
#include "support/running_realm.hpp"

using namespace std::chrono_literals;
using test_support::eventually;
using test_support::LineClient;
using test_support::RunningRealm;

namespace {

// A lease far longer than the test waits: only the holder's release can explain a takeover.
constexpr std::chrono::milliseconds kLease{8000};

std::unique_ptr<RunningRealm> realm_process(const std::string& holder) {
  chat::config::RealmConfig config;
  config.name = "inproc_standby";
  config.listen = {"127.0.0.1", 0};
  config.password_cost = chat::config::PasswordCost::min;
  config.users = {{"messi", "surabaya", "Lionel_Messi", "Argentina"}};
  config.store = chat::config::StoreConfig{test_support::shared_postgres().url(), kLease};
  return std::make_unique<RunningRealm>(
      config, std::make_unique<chat::store::PostgresStore>(config.store->url, config.name),
      std::make_unique<chat::store::PostgresLease>(config.store->url, config.name, holder, kLease));
}

}  // namespace

TEST_CASE("a standby does not listen; the holder's clean stop hands it the realm at once") {
  auto first = realm_process("first");
  REQUIRE(eventually([&] { return first->is_primary(); }));
  auto second = realm_process("second");
  CHECK_FALSE(second->is_primary());
  CHECK(second->port() == 0);

  std::string token;
  {
    LineClient client(first->port());
    const std::string reply = client.request("auth messi surabaya");
    REQUIRE(reply.find(R"("tokenid":")") != std::string::npos);
    token = reply.substr(reply.find(R"("tokenid":")") + 11, 36);
    REQUIRE(client.request("send messi note to self") ==
            R"({"status":"OK","message":"Message sent"})");
  }
  CHECK_FALSE(second->is_primary());  // still waiting: the lease is held

  const auto stopped = std::chrono::steady_clock::now();
  CHECK(first->stop() == 0);
  CHECK_FALSE(first->is_primary());
  REQUIRE(eventually([&] { return second->is_primary(); }, 5s));
  CHECK(std::chrono::steady_clock::now() - stopped < kLease);
  LineClient client(second->port());
  CHECK(client.request("inbox " + token).find("note to self") != std::string::npos);
}
