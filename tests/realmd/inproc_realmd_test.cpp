// RealmServer in-process on port 0 with a real SqliteStore, driven over real sockets:
// exact replies, pipelining, framing errors, abrupt clients, limits, graceful and failed stops.
#include <doctest/doctest.h>

#include <asio/post.hpp>
#include <atomic>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "core/history.hpp"
#include "realm_server.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/running_realm.hpp"
#include "support/temp_dir.hpp"

using test_support::eventually;
using test_support::LineClient;
using test_support::TempDir;

namespace {

chat::config::RealmConfig test_config(const std::filesystem::path& data_dir) {
  chat::config::RealmConfig config;
  config.name = "alpha";
  config.listen = {"127.0.0.1", 0};
  config.data_dir = data_dir;
  config.password_cost = chat::config::PasswordCost::min;
  config.users = {{"messi", "surabaya", "Lionel_Messi", "Argentina"}};
  return config;
}

// The shared runner, plus: a realm of test_config on a SqliteStore in `data_dir`.
class RunningRealm : public test_support::RunningRealm {
 public:
  using test_support::RunningRealm::RunningRealm;
  explicit RunningRealm(const std::filesystem::path& data_dir)
      : test_support::RunningRealm(test_config(data_dir),
                                   std::make_unique<chat::store::SqliteStore>(data_dir, false)) {}
};

const std::regex token_pattern(
    R"("tokenid":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")");
const std::regex time_pattern(R"("time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")");

// Replies with the random parts (tokens, times) replaced, so that the rest compares exactly.
std::string masked(const std::string& reply) {
  return std::regex_replace(std::regex_replace(reply, token_pattern, R"("tokenid":"T")"),
                            time_pattern, R"("time":"TIME")");
}

std::string ok(std::string_view message) {
  return R"({"status":"OK","message":")" + std::string(message) + R"("})";
}
std::string error(std::string_view message) {
  return R"({"status":"ERROR","message":")" + std::string(message) + R"("})";
}

// Fills bob's inbox with more than the socket buffers hold (the server's send buffer grows to
// 4 MiB; an inbox reply carries 1 MiB at most). Returns bob's token.
constexpr int big_inbox_messages = 600;
std::string fill_big_inbox(std::uint16_t port) {
  LineClient messi(port);
  CHECK(messi.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  LineClient bob(port);
  const std::string registered = bob.request("register bob pw Bob_M J");
  const std::string filler(15000, 'z');
  std::string sends;
  for (int i = 0; i < big_inbox_messages; ++i) {
    sends += "send bob " + std::to_string(i) + filler + "\n";
  }
  messi.send_raw(sends);
  for (int i = 0; i < big_inbox_messages; ++i) REQUIRE(messi.expect_reply() == ok("Message sent"));
  return registered.substr(registered.find("tokenid") + 10, 36);
}

// Reads bob's inbox until it is empty; returns the message numbers, failing on a duplicate.
std::set<int> drain_inbox(std::uint16_t port) {
  LineClient bob(port);
  CHECK(bob.request("auth bob pw").starts_with(R"({"status":"OK")"));
  std::set<int> seen;
  constexpr std::string_view key = R"("msg":")";
  for (;;) {
    const std::string inbox = bob.request("inbox");
    if (inbox == R"({"status":"OK","messages":{}})") return seen;
    for (auto at = inbox.find(key); at != std::string::npos; at = inbox.find(key, at + 1)) {
      const int number = std::stoi(inbox.substr(at + key.size(), 8));
      CHECK_MESSAGE(seen.insert(number).second, "returned twice: " << number);
    }
  }
}

std::string inbox_burst(const std::string& token, int count) {
  std::string lines;
  for (int i = 0; i < count; ++i) lines += "inbox " + token + "\n";
  return lines;
}

}  // namespace

TEST_CASE("commands over a real socket get their exact replies") {
  TempDir dir;
  RunningRealm realm(dir.path());
  LineClient messi(realm.port());
  LineClient bob(realm.port());

  CHECK(masked(messi.request("auth messi surabaya")) == R"({"status":"OK","tokenid":"T"})");
  CHECK(masked(messi.request("auth messi wrong")) == error("Password Salah"));
  CHECK(masked(bob.request("register bob rahasia Bob_Marley Jamaica")) ==
        R"({"status":"OK","message":"User registered","tokenid":"T"})");
  CHECK(bob.request("register bob rahasia Bob_Marley Jamaica") == error("User sudah ada"));
  CHECK(messi.request("send bob halo   bob  ") == ok("Message sent"));
  CHECK(messi.request("SEND bob apa kabar") == ok("Message sent"));
  CHECK(messi.request("send nobody hi") == error("User tidak ditemukan"));
  CHECK(messi.request("addgroup kominfo") == ok("Add group successful"));
  CHECK(bob.request("joingroup kominfo") == ok("Join group successful"));
  CHECK(messi.request("sendgroup kominfo rapat jam 9") == ok("Message sent to group"));
  CHECK(
      masked(bob.request("inbox")) ==
      R"({"status":"OK","messages":{"messi":[)"
      R"({"id":1,"msg_from":"messi","msg_to":"bob","msg":"halo   bob","realm":"alpha","time":"TIME"},)"
      R"({"id":2,"msg_from":"messi","msg_to":"bob","msg":"apa kabar","realm":"alpha","time":"TIME"},)"
      R"({"id":3,"msg_from":"messi","msg_to":"bob","msg":"rapat jam 9","realm":"alpha","time":"TIME","group":"kominfo"}]}})");
  CHECK(bob.request("inbox") == R"({"status":"OK","messages":{}})");
  CHECK(
      bob.request("info messi") ==
      R"({"status":"OK","data":{"username":"messi","nama":"Lionel_Messi","negara":"Argentina","realm":"alpha","online":true}})");
  CHECK(bob.request("logout") == ok("Logout successful"));
  CHECK(bob.request("inbox") == error("Session tidak ditemukan"));
  CHECK(bob.request("bogus") == error("*Maaf, command tidak benar"));
}

TEST_CASE("pipelined requests are answered in order, auth and register included") {
  TempDir dir;
  RunningRealm realm(dir.path());
  LineClient client(realm.port());

  // Each register pauses the connection for its hash; the info after it must see the new user.
  std::string burst;
  for (int i = 0; i < 10; ++i) {
    burst += "register u" + std::to_string(i) + " pw Nama_" + std::to_string(i) + " Negeri\n";
    burst += "info u" + std::to_string(i) + "\n";
  }
  client.send_raw(burst);
  for (int i = 0; i < 10; ++i) {
    CAPTURE(i);
    const std::string n = std::to_string(i);
    CHECK(masked(client.expect_reply()) ==
          R"({"status":"OK","message":"User registered","tokenid":"T"})");
    CHECK(client.expect_reply() == R"({"status":"OK","data":{"username":"u)" + n +
                                       R"(","nama":"Nama_)" + n +
                                       R"(","negara":"Negeri","realm":"alpha","online":true}})");
  }

  // Writes are committed before their reply, so a burst of sends reads back in order.
  std::string sends = "auth messi surabaya\n";
  for (int i = 0; i < 19; ++i) sends += "send u9 m" + std::to_string(i) + "\n";
  LineClient messi(realm.port());
  messi.send_raw(sends);
  CHECK(masked(messi.expect_reply()) == R"({"status":"OK","tokenid":"T"})");
  for (int i = 0; i < 19; ++i) CHECK(messi.expect_reply() == ok("Message sent"));
  const std::string inbox = client.request("inbox");  // client is u9 now
  for (int i = 0; i < 19; ++i) {
    CHECK(inbox.find(R"("msg":"m)" + std::to_string(i) + R"(")") != std::string::npos);
  }
  CHECK(inbox.find(R"("msg":"m0")") < inbox.find(R"("msg":"m18")"));
}

TEST_CASE("blank lines get no reply") {
  TempDir dir;
  RunningRealm realm(dir.path());
  LineClient client(realm.port());
  client.send_raw("\n   \r\n\nbogus\n  \ninfo\n");
  CHECK(client.expect_reply() == error("*Maaf, command tidak benar"));
  CHECK(client.expect_reply() == error("Parameter salah / tidak ada"));
  CHECK(client.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  CHECK(client.unread().empty());
}

TEST_CASE("an over-long line is answered and closed; other clients carry on") {
  TempDir dir;
  RunningRealm realm(dir.path());
  LineClient bystander(realm.port());
  CHECK(bystander.request("auth messi surabaya").starts_with(R"({"status":"OK")"));

  LineClient offender(realm.port());
  offender.send_raw(std::string(70 * 1024, 'a') + "\n");
  CHECK(offender.expect_reply() == error("Request terlalu panjang"));
  CHECK(offender.wait_closed());
  CHECK(offender.unread().empty());

  // A line exactly at the limit is still a line.
  LineClient edge(realm.port());
  CHECK(edge.request("info " + std::string(64 * 1024 - 5, 'x')) ==
        error("Parameter salah / tidak ada"));

  CHECK(bystander.request("info messi").starts_with(R"({"status":"OK")"));
}

TEST_CASE("a line that is not UTF-8 is a bad parameter, and the connection goes on") {
  TempDir dir;
  RunningRealm realm(dir.path());
  LineClient client(realm.port());
  CHECK(client.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  CHECK(client.request("send messi \xff\xfe broken") == error("Parameter salah / tidak ada"));
  CHECK(client.request("send messi \xc3\xa9t\xc3\xa9") == ok("Message sent"));
}

TEST_CASE("garbage bytes and abrupt disconnects affect no other client") {
  TempDir dir;
  RunningRealm realm(dir.path());
  LineClient steady(realm.port());
  CHECK(steady.request("auth messi surabaya").starts_with(R"({"status":"OK")"));

  {
    LineClient garbage(realm.port());
    std::string bytes;
    for (int i = 0; i < 4096; ++i) bytes += static_cast<char>((i * 131 + 7) % 256);
    garbage.send_raw(bytes);
    garbage.abort();
  }
  {
    LineClient half(realm.port());
    half.send_raw("register carol pw Carol_X Y\nauth messi sura");  // cut mid-line
    half.abort();
  }
  {
    LineClient quitter(realm.port());
    quitter.send("auth messi surabaya");
  }  // closed without reading its reply

  CHECK(steady.request("info messi").starts_with(R"({"status":"OK")"));
  LineClient newcomer(realm.port());
  CHECK(newcomer.request("info").find("Parameter salah") != std::string::npos);
}

TEST_CASE("inbox replies lost to a reset are returned again, never twice") {
  TempDir dir;
  RunningRealm realm(dir.path());
  const std::string token = fill_big_inbox(realm.port());

  // 7 replies of 1 MiB (under the 8 MiB backlog limit) to a client with a tiny receive window
  // that never reads: the server's write of them (one gathered write) stalls, then the client
  // resets. A reply counts as delivered only once all of it is written, so all come back.
  {
    LineClient dropper(realm.port(), {.receive_buffer_bytes = 4096});
    dropper.send_raw(inbox_burst(token, 7));
    // The first reply bytes arriving mean every inbox line of the burst was handled.
    REQUIRE(eventually([&] { return dropper.available() > 0; }));
    dropper.abort();
  }
  const std::set<int> returned = drain_inbox(realm.port());
  CHECK(returned.size() == big_inbox_messages);
}

TEST_CASE(
    "a client that asks for more than the reply limit at once is slowed, not dropped "
    "(back-pressure); every message comes once") {
  TempDir dir;
  RunningRealm realm(dir.path());
  const std::string token = fill_big_inbox(realm.port());
  std::set<int> seen;
  {
    LineClient greedy(realm.port());
    greedy.send_raw(inbox_burst(token, 10));  // about 9 MiB of replies, past the 8 MiB limit
    constexpr std::string_view key = R"("msg":")";
    for (int i = 0; i < 10; ++i) {
      const std::string inbox = greedy.expect_reply();
      REQUIRE(inbox.starts_with(R"({"status":"OK","messages":)"));
      for (auto at = inbox.find(key); at != std::string::npos; at = inbox.find(key, at + 1)) {
        CHECK(seen.insert(std::stoi(inbox.substr(at + key.size(), 8))).second);
      }
    }
  }
  for (int number : drain_inbox(realm.port())) CHECK(seen.insert(number).second);
  CHECK(seen.size() == big_inbox_messages);
}

TEST_CASE("over max_connections a client is told the server is busy") {
  TempDir dir;
  auto config = test_config(dir.path());
  config.limits.max_connections = 2;
  RunningRealm realm(config, std::make_unique<chat::store::SqliteStore>(dir.path(), false));
  auto first = std::make_unique<LineClient>(realm.port());
  LineClient second(realm.port());
  CHECK(first->request("info").find("Parameter salah") != std::string::npos);
  CHECK(second.request("info").find("Parameter salah") != std::string::npos);

  {
    LineClient third(realm.port());
    CHECK(third.expect_reply() == error("Server sibuk"));
    CHECK(third.wait_closed());
  }

  first.reset();
  CHECK(eventually([&] {
    LineClient again(realm.port());
    return again.request("info") == error("Parameter salah / tidak ada");
  }));
}

TEST_CASE("a graceful stop keeps every acknowledged change") {
  TempDir dir;
  {
    RunningRealm realm(dir.path());
    LineClient client(realm.port());
    CHECK(client.request("register bob pw Bob_M J").starts_with(R"({"status":"OK")"));
    std::string sends;
    for (int i = 0; i < 50; ++i) sends += "send messi s" + std::to_string(i) + "\n";
    client.send_raw(sends);
    for (int i = 0; i < 50; ++i) REQUIRE(client.expect_reply() == ok("Message sent"));
    CHECK(realm.stop() == 0);
    CHECK(client.wait_closed());
  }
  RunningRealm restarted(dir.path());
  LineClient messi(restarted.port());
  CHECK(messi.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  const std::string inbox = messi.request("inbox");
  CHECK(inbox.find(R"("msg":"s0")") != std::string::npos);
  CHECK(inbox.find(R"("msg":"s49")") != std::string::npos);
}

TEST_CASE(
    "escape-heavy inbox replies are capped by what is written, and a client that "
    "pipelines many inbox calls is slowed, not dropped (regression)") {
  TempDir dir;
  RunningRealm realm(dir.path());
  LineClient messi(realm.port());
  CHECK(messi.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  LineClient bob(realm.port());
  CHECK(bob.request("register bob pw Bob_M J").starts_with(R"({"status":"OK")"));
  // 130 messages of 16 KiB of control characters: each escapes to ~96 KiB of JSON.
  constexpr int messages = 130;
  const std::string controls(16 * 1024 - 8, '\x01');
  std::string sends;
  for (int i = 0; i < messages; ++i)
    sends += "send bob " + std::to_string(1000 + i) + controls + "\n";
  messi.send_raw(sends);
  for (int i = 0; i < messages; ++i) REQUIRE(messi.expect_reply() == ok("Message sent"));

  // 40 inbox calls in one write; the replies are read only afterwards.
  std::string burst;
  for (int i = 0; i < 40; ++i) burst += "inbox\n";
  bob.send_raw(burst);
  std::set<int> seen;
  constexpr std::string_view key = R"("msg":")";
  for (int i = 0; i < 40; ++i) {
    const std::string inbox = bob.expect_reply(std::chrono::seconds(30));
    REQUIRE(inbox.starts_with(R"({"status":"OK","messages":)"));
    // 1 MiB of messages at most, escapes counted (plus the one that may pass it).
    CHECK(inbox.size() <= 1024 * 1024 + 200 * 1024);
    for (auto at = inbox.find(key); at != std::string::npos; at = inbox.find(key, at + 1)) {
      CHECK(seen.insert(std::stoi(inbox.substr(at + key.size(), 4))).second);
    }
  }
  CHECK(seen.size() == messages);
  CHECK(bob.request("info bob").starts_with(R"({"status":"OK")"));  // still connected
}

TEST_CASE("a failing store is retried: replies wait, then get an error, then it recovers") {
  TempDir dir;
  auto store = std::make_unique<chat::store::MemoryStore>();
  chat::store::MemoryStore& memory = *store;
  RunningRealm realm(test_config(dir.path()), std::move(store));
  LineClient client(realm.port());
  CHECK(client.request("auth messi surabaya").starts_with(R"({"status":"OK")"));

  // A short outage: the reply waits for the retried commit, then says OK.
  memory.fail_next_commits(true);  // the commit thread reads it after the next enqueue
  client.send("addgroup brief");
  // Failed twice, so retried: the outage is one the reply waits through.
  REQUIRE(eventually([&] { return memory.injected_failures() >= 2; }));
  CHECK(client.available() == 0);
  memory.fail_next_commits(false);
  CHECK(client.expect_reply() == ok("Add group successful"));

  // A long one: past CommitQueue::stall_after the waiting reply, and every reply that would
  // wait behind the store, is an error; nothing is acknowledged that was not stored.
  memory.fail_next_commits(true);
  const std::size_t commits_before = memory.commits();
  client.send("addgroup doomed");
  CHECK(client.expect_reply(std::chrono::seconds(10)) == error("Gagal menyimpan, coba lagi nanti"));
  CHECK(client.request("joingroup brief") == error("Gagal menyimpan, coba lagi nanti"));
  CHECK(memory.commits() == commits_before);

  // The disk works again: the queued changes are committed in order, service goes on.
  memory.fail_next_commits(false);
  CHECK(eventually([&] { return memory.commits() > commits_before; }));
  CHECK(client.request("addgroup doomed") == error("Group sudah ada"));
  CHECK(client.request("joingroup brief") == error("User sudah dalam group"));
  CHECK(client.request("addgroup after") == ok("Add group successful"));
  CHECK(realm.stop() == 0);
}

TEST_CASE(
    "one mutation the store can never take is dropped, not retried forever (regression: "
    "one bad peer frame stalled every client)") {
  TempDir dir;
  auto store = std::make_unique<chat::store::MemoryStore>();
  chat::store::MemoryStore& memory = *store;
  memory.refuse_group("cursed");
  RunningRealm realm(test_config(dir.path()), std::move(store));
  LineClient client(realm.port());
  CHECK(client.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  client.request("addgroup cursed");  // its PutGroup is refused for good, and dropped
  // The realm is not stalled: the next change commits at once and is answered OK.
  CHECK(client.request("addgroup fine") == ok("Add group successful"));
  CHECK(client.request("info messi").starts_with(R"({"status":"OK")"));
  std::vector<std::string> groups;
  for (const auto& group : memory.load().groups) groups.push_back(group.name);
  CHECK(groups == std::vector<std::string>{"fine"});
  CHECK(realm.stop() == 0);
}

TEST_CASE("a store still failing at a graceful stop: exit code 1, nothing acknowledged") {
  TempDir dir;
  auto store = std::make_unique<chat::store::MemoryStore>();
  chat::store::MemoryStore& memory = *store;
  RunningRealm realm(test_config(dir.path()), std::move(store));
  LineClient client(realm.port());
  CHECK(client.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  memory.fail_next_commits(true);
  client.send("addgroup doomed");
  // The server took the line: its commit failed (no reply can come while the store fails).
  REQUIRE(eventually([&] { return memory.injected_failures() > 0; }));
  CHECK(client.available() == 0);
  CHECK(realm.stop() == 1);
  CHECK(client.wait_closed());
  CHECK(client.unread().find("OK") == std::string::npos);
}

TEST_CASE("a reply waiting for a peer keeps its place in the order") {
  TempDir dir;
  auto config = test_config(dir.path());
  config.admins = {"messi"};
  config.peers = {{.name = "beta", .address = {"127.0.0.1", 9}, .autoconnect = false}};
  RunningRealm realm(config, std::make_unique<chat::store::SqliteStore>(dir.path(), false));
  LineClient messi(realm.port());
  CHECK(messi.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  // No link to beta comes up: the addrealm reply times out as "connecting".
  messi.send_raw("addrealm beta\ninfo nobody\n");
  CHECK(messi.expect_reply() ==
        R"({"status":"OK","message":"Realm added successfully","state":"connecting"})");
  CHECK(messi.expect_reply() == error("User tidak ditemukan"));
  CHECK(messi.request("addrealm beta") == error("Realm sudah ada"));
}

TEST_CASE("watch: new messages are pushed between replies, and not returned again by inbox") {
  TempDir dir;
  RunningRealm realm(dir.path());
  LineClient henderson(realm.port());
  LineClient messi(realm.port());
  henderson.request("register henderson surabaya Jordan_Henderson Inggris");
  messi.request("auth messi surabaya");
  CHECK(messi.request("send henderson before") == ok("Message sent"));
  CHECK(henderson.request("watch") == ok("Watching"));
  CHECK(messi.request("send henderson live   one") == ok("Message sent"));
  CHECK(
      masked(henderson.expect_reply()) ==
      R"({"event":"message","message":{"id":2,"msg_from":"messi","msg_to":"henderson","msg":"live   one","realm":"alpha","time":"TIME"}})");
  // The pushed message counts as fetched; the one from before `watch` waits in the inbox.
  std::string inbox = henderson.request("inbox");
  CHECK(inbox.find("before") != std::string::npos);
  CHECK(inbox.find("live") == std::string::npos);
  // A push to a connection that drops before reading it: the message stays unread.
  LineClient second(realm.port());
  second.request("auth henderson surabaya");
  CHECK(henderson.request("unwatch") == ok("Watching stopped"));
  CHECK(second.request("watch") == ok("Watching"));
  second.abort();
  CHECK(messi.request("send henderson after the drop") == ok("Message sent"));
  CHECK(eventually(
      [&] { return henderson.request("inbox").find("after the drop") != std::string::npos; }));
}

// A realm of test_config with the two time limits given (zero: none).
std::unique_ptr<RunningRealm> realm_with_time_limits(const std::filesystem::path& data_dir,
                                                     std::chrono::milliseconds idle,
                                                     std::chrono::milliseconds partial) {
  auto config = test_config(data_dir);
  config.limits.unauthenticated_idle = idle;
  config.limits.partial_request = partial;
  return std::make_unique<RunningRealm>(
      config, std::make_unique<chat::store::SqliteStore>(data_dir, false));
}

TEST_CASE("a connection without a session is closed after limits.unauthenticated_idle_ms") {
  TempDir dir;
  const auto running = realm_with_time_limits(dir.path(), std::chrono::milliseconds(300),
                                              std::chrono::milliseconds(0));  // idleness only
  RunningRealm& realm = *running;
  const std::string idle_error = error("Tidak aktif terlalu lama, koneksi ditutup");

  LineClient silent(realm.port());
  LineClient asked(realm.port());
  // A request without a session does not exempt a connection, it only restarts its clock.
  CHECK(asked.request("info") == error("Parameter salah / tidak ada"));
  LineClient authed(realm.port());
  CHECK(authed.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  CHECK(silent.expect_reply() == idle_error);
  CHECK(silent.wait_closed());
  CHECK(asked.expect_reply() == idle_error);
  CHECK(asked.wait_closed());

  // The limit has passed again since the auth (a client opened after it was closed): a
  // connection with a session stays, however quiet.
  LineClient marker(realm.port());
  CHECK(marker.expect_reply() == idle_error);
  CHECK(authed.available() == 0);
  CHECK(authed.request("inbox").starts_with(R"({"status":"OK")"));
  // After logout it has no session again.
  CHECK(authed.request("logout") == ok("Logout successful"));
  CHECK(authed.expect_reply() == idle_error);
  CHECK(authed.wait_closed());
}

TEST_CASE("a request left unfinished is closed after limits.partial_request_ms (slowloris)") {
  TempDir dir;
  const auto running = realm_with_time_limits(dir.path(), std::chrono::milliseconds(0),
                                              std::chrono::milliseconds(300));  // partial only
  RunningRealm& realm = *running;
  const std::string partial_error = error("Request tidak selesai, koneksi ditutup");

  LineClient quiet(realm.port());
  CHECK(quiet.request("auth messi surabaya").starts_with(R"({"status":"OK")"));

  LineClient held(realm.port());
  held.send_raw("inb");
  CHECK(held.expect_reply() == partial_error);
  CHECK(held.wait_closed());

  // Trickling more bytes does not restart the clock: it runs from the request's first byte.
  LineClient trickle(realm.port());
  const auto started = std::chrono::steady_clock::now();
  while (trickle.available() == 0 &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    trickle.send_raw("x");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the client's pace
  }
  CHECK(trickle.expect_reply() == partial_error);
  CHECK(trickle.wait_closed());

  // Whole requests followed by quiet hold nothing unfinished: that connection stays.
  CHECK(quiet.available() == 0);
  CHECK(quiet.request("inbox").starts_with(R"({"status":"OK")"));
}

// --- history (docs/protocol.md "History"): read from the store off the loop ---

namespace {

// Times are masked; ids are the realm's.
// (Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on long `literal + string`
// chains.)
std::string history_msg(int id, std::string_view from, std::string_view to, std::string_view text) {
  std::string out = R"({"id":)";
  out += std::to_string(id);
  out += R"(,"msg_from":")";
  out += from;
  out += R"(","msg_to":")";
  out += to;
  out += R"(","msg":")";
  out += text;
  out += R"(","realm":"alpha","time":"TIME"})";
  return out;
}

std::string history_page(const std::vector<std::string>& messages, bool more) {
  std::string out = R"({"status":"OK","messages":[)";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ',';
    out += messages[i];
  }
  out += R"(],"more":)";
  out += more ? "true}" : "false}";
  return out;
}

}  // namespace

TEST_CASE("history survives a restart, and inbox still returns only what is unread") {
  TempDir dir;
  {
    RunningRealm realm(dir.path());
    LineClient messi(realm.port());
    LineClient bob(realm.port());
    CHECK(messi.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
    CHECK(bob.request("register bob pw Bob_M J").starts_with(R"({"status":"OK")"));
    CHECK(messi.request("send bob satu") == ok("Message sent"));
    CHECK(bob.request("send messi dua") == ok("Message sent"));
    CHECK(bob.request("inbox").find(R"("msg":"satu")") != std::string::npos);
    CHECK(messi.request("send bob tiga") == ok("Message sent"));
    CHECK(realm.stop() == 0);
  }
  RunningRealm restarted(dir.path());
  LineClient bob(restarted.port());
  CHECK(bob.request("auth bob pw").starts_with(R"({"status":"OK")"));
  const std::string conversations = std::regex_replace(
      bob.request("conversations"), std::regex(R"("last_time":"[^"]*")"), R"("last_time":"T")");
  CHECK(
      conversations ==
      R"({"status":"OK","conversations":[{"kind":"user","name":"messi","realm":"alpha","last_id":3,"last_time":"T","unread":1}]})");
  CHECK(masked(bob.request("history user messi")) ==
        history_page({history_msg(1, "messi", "bob", "satu"), history_msg(2, "bob", "messi", "dua"),
                      history_msg(3, "messi", "bob", "tiga")},
                     false));
  // Reading history marked nothing read: inbox has "tiga" only ("satu" was fetched before).
  std::string unread = R"({"status":"OK","messages":{"messi":[)";
  unread += history_msg(3, "messi", "bob", "tiga");
  unread += "]}}";
  CHECK(masked(bob.request("inbox")) == unread);
  CHECK(bob.request("inbox") == R"({"status":"OK","messages":{}})");
  CHECK(masked(bob.request("history user messi 1 3")) ==
        history_page({history_msg(2, "bob", "messi", "dua")}, true));
}

TEST_CASE("a graceful stop indexes the history it has not indexed yet, not the next start") {
  TempDir dir;
  {
    RunningRealm realm(dir.path());
    LineClient messi(realm.port());
    LineClient bob(realm.port());
    CHECK(messi.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
    CHECK(bob.request("register bob pw Bob_M J").starts_with(R"({"status":"OK")"));
    CHECK(messi.request("send bob satu") == ok("Message sent"));
    CHECK(messi.request("send bob dua") == ok("Message sent"));
    // Stopped well before the first index pass (every 2 s).
    CHECK(realm.stop() == 0);
  }
  // Without load() (which would index what is left): a query that trusts the index finds the
  // messages only if the stop indexed them.
  chat::store::SqliteStore store(dir.path(), false);
  chat::store::HistoryQuery query;
  query.conversation = chat::core::user_conversation("messi", "bob");
  const chat::store::HistoryPage page = store.open_history_reader()->read_history(query);
  REQUIRE(page.messages.size() == 2);
  CHECK(page.messages[0].text == "satu");
  CHECK(page.messages[1].text == "dua");
}

TEST_CASE("a history reply sees every change queued before it, and keeps its place in the order") {
  TempDir dir;
  RunningRealm realm(dir.path());
  LineClient messi(realm.port());
  LineClient bob(realm.port());
  CHECK(messi.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  CHECK(bob.request("register bob pw Bob_M J").starts_with(R"({"status":"OK")"));
  // Pipelined: each history read waits for the sends before it to commit, and its reply
  // comes between theirs.
  std::string lines;
  for (int i = 1; i <= 20; ++i) {
    lines += "send bob m";
    lines += std::to_string(i);
    lines += "\nhistory user bob 1\n";
  }
  messi.send_raw(lines);
  for (int i = 1; i <= 20; ++i) {
    REQUIRE(messi.expect_reply() == ok("Message sent"));
    std::string text = "m";
    text += std::to_string(i);
    CHECK(masked(messi.expect_reply()) ==
          history_page({history_msg(i, "messi", "bob", text)}, i > 1));
  }
  // Other clients are served meanwhile; errors are answered without a read.
  CHECK(bob.request("history user nobody") == error("User tidak ditemukan"));
  CHECK(bob.request("history user messi 501") == error("Parameter salah / tidak ada"));
}

TEST_CASE("history retention runs in the background: each conversation keeps its newest") {
  TempDir dir;
  chat::config::RealmConfig config = test_config(dir.path());
  config.history.max_per_conversation = 2;
  config.history.prune_interval = std::chrono::milliseconds(20);
  RunningRealm realm(config, std::make_unique<chat::store::SqliteStore>(dir.path(), false));
  LineClient messi(realm.port());
  CHECK(messi.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  CHECK(messi.request("register bob pw Bob_M J").starts_with(R"({"status":"OK")"));
  CHECK(messi.request("auth messi surabaya").starts_with(R"({"status":"OK")"));
  for (int i = 1; i <= 5; ++i) {
    CHECK(messi.request("send bob m" + std::to_string(i)) == ok("Message sent"));
  }
  const std::string kept = history_page(
      {history_msg(4, "messi", "bob", "m4"), history_msg(5, "messi", "bob", "m5")}, false);
  CHECK(eventually([&] { return masked(messi.request("history user bob")) == kept; }));
  // Unread messages are not history: bob still gets all five.
  LineClient bob(realm.port());
  CHECK(bob.request("auth bob pw").starts_with(R"({"status":"OK")"));
  const std::string inbox = bob.request("inbox");
  CHECK(inbox.find(R"("msg":"m1")") != std::string::npos);
  CHECK(inbox.find(R"("msg":"m5")") != std::string::npos);
}
