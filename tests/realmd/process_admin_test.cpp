// The admin listener of a real realmd (docs/operations.md): /metrics counts exactly the
// traffic sent, outboxes rise while a peer is down and drain when it is back, a stalled store
// shows in /metrics and /healthz, and the HTTP is the kind scrapers speak (HEAD, HTTP/1.0,
// keep-alive).
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>

#include "support/delivery_checks.hpp"
#include "support/free_port.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realm_cluster.hpp"
#include "support/realmd_process.hpp"
#include "support/temp_dir.hpp"

using namespace test_support;
using namespace std::chrono_literals;

namespace {

// A realm's config with the admin listener on a free port.
std::string with_admin(std::string config_yaml) {
  const std::string listen = "  listen: 127.0.0.1:0\n";
  config_yaml.insert(config_yaml.find(listen) + listen.size(), "  admin_listen: 127.0.0.1:0\n");
  return config_yaml;
}

// Sends `request` as is and reads until the server closes the connection.
std::string http_exchange(std::uint16_t port, const std::string& request) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), port});
  asio::write(socket, asio::buffer(request));
  std::string response;
  std::error_code ec;
  asio::read(socket, asio::dynamic_buffer(response), ec);
  return response;
}

std::string get(std::uint16_t port, const std::string& path) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

// The value of one sample in a /metrics page ("name{labels}"), or -1 when it is not there.
double sample(const std::string& page, const std::string& series) {
  const std::string at_line_start = "\n" + series + " ";
  const auto at = page.find(at_line_start);
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + at_line_start.size()));
}

double metric(const RealmdProcess& realm, const std::string& series) {
  return sample(get(realm.admin_port(), "/metrics"), series);
}

std::string requests(const std::string& command, const std::string& status) {
  return R"(realmchat_requests_total{command=")" + command + R"(",status=")" + status + R"("})";
}

}  // namespace

TEST_CASE("/metrics counts exactly the requests, messages and failed logins sent") {
  const TempDir dir;
  RealmdProcess alpha(dir.path(),
                      with_admin(RealmdProcess::config_yaml("alpha", dir.path() / "data",
                                                            users_yaml({"messi", "henderson"}))));
  alpha.set_arguments({"--log-level", "trace"});  // everything it would ever log
  alpha.start();
  REQUIRE(alpha.admin_port() != 0);
  CHECK(metric(alpha, requests("send", "OK")) == 0);
  CHECK(metric(alpha, "realmchat_is_primary") == 1);

  auto messi = login(alpha, "messi");
  constexpr int sent = 37, refused = 4, failed_logins = 3;
  for (int i = 0; i < sent; ++i)
    REQUIRE(is_ok(messi->request("send henderson m" + std::to_string(i))));
  for (int i = 0; i < refused; ++i) CHECK_FALSE(is_ok(messi->request("send nobody x")));
  LineClient stranger(alpha.client_port());
  for (int i = 0; i < failed_logins; ++i) {
    CHECK_FALSE(is_ok(stranger.request("auth messi not-the-password-" + std::to_string(i))));
  }
  CHECK_FALSE(is_ok(stranger.request("frobnicate")));
  const std::string registered = stranger.request("register ronaldo secret-pw-7 Cristiano PT");
  REQUIRE(is_ok(registered));

  const std::string page = get(alpha.admin_port(), "/metrics");
  CHECK(sample(page, requests("send", "OK")) == sent);
  CHECK(sample(page, requests("send", "ERROR")) == refused);
  CHECK(sample(page, requests("auth", "OK")) == 1);
  CHECK(sample(page, requests("register", "OK")) == 1);
  CHECK(sample(page, requests("auth", "ERROR")) == failed_logins);
  CHECK(sample(page, requests("unknown", "ERROR")) == 1);
  CHECK(sample(page, "realmchat_auth_failures_total") == failed_logins);
  CHECK(sample(page, "realmchat_messages_stored_total") == sent);
  CHECK(sample(page, R"(realmchat_connections{kind="client"})") == 2);
  CHECK(sample(page, R"(realmchat_connections{kind="web"})") == 0);
  CHECK(sample(page, "realmchat_store_stalled") == 0);
  CHECK(sample(page, "realmchat_commit_batch_size_count") > 0);
  CHECK(sample(page, "realmchat_commit_duration_seconds_count") > 0);
  CHECK(page.find("# TYPE realmchat_commit_duration_seconds histogram") != std::string::npos);

  // A live delivery (watch) counts as a push.
  CHECK(sample(page, "realmchat_pushes_total") == 0);
  auto henderson = login(alpha, "henderson");
  REQUIRE(is_ok(henderson->request("watch")));
  REQUIRE(is_ok(messi->request("send henderson live")));
  CHECK(henderson->expect_reply().starts_with(R"({"event":"message")"));
  CHECK(metric(alpha, "realmchat_pushes_total") == 1);
  CHECK(metric(alpha, "realmchat_reply_waits") == 0);

  // Never a password or a session token in the log, even at trace level.
  const std::string log = alpha.log();
  CHECK(log.find("not-the-password") == std::string::npos);
  CHECK(log.find("secret-pw-7") == std::string::npos);
  const std::string token_key = R"("tokenid":")";
  const auto token_at = registered.find(token_key);
  REQUIRE(token_at != std::string::npos);
  const std::string token = registered.substr(token_at + token_key.size(), 36);
  CHECK(log.find(token) == std::string::npos);
  CHECK(log.find("test-secret") == std::string::npos);  // the federation secret
}

TEST_CASE("realmchat_outbox_messages{peer} rises while the peer is down and returns to 0") {
  const TempDir dir;
  const std::uint16_t alpha_port = free_port(), beta_port = free_port();
  const auto config = [&](const std::string& name, std::uint16_t own, const std::string& peer,
                          std::uint16_t peer_port, const std::string& user) {
    std::filesystem::create_directories(dir.path() / name);
    return with_admin(
        RealmdProcess::config_yaml(name, dir.path() / name / "data",
                                   users_yaml({user}) + "peers: [{name: " + peer +
                                       ", address: 127.0.0.1:" + std::to_string(peer_port) + "}]\n",
                                   own, 200ms));
  };
  RealmdProcess alpha(dir.path() / "alpha",
                      config("alpha", alpha_port, "beta", beta_port, "messi"));
  RealmdProcess beta(dir.path() / "beta", config("beta", beta_port, "alpha", alpha_port, "jokowi"));
  alpha.start();
  beta.start();
  const std::string link_up = R"(realmchat_peer_link_up{peer="beta"})";
  const std::string outbox = R"(realmchat_outbox_messages{peer="beta"})";
  REQUIRE(eventually([&] { return metric(alpha, link_up) == 1; }));
  CHECK(metric(alpha, outbox) == 0);
  CHECK(metric(alpha, R"(realmchat_connections{kind="peer"})") >= 1);

  beta.kill9();
  REQUIRE(eventually([&] { return metric(alpha, link_up) == 0; }));
  auto messi = login(alpha, "messi");
  constexpr int queued = 5;
  for (int i = 0; i < queued; ++i) {
    CHECK(is_ok(messi->request("sendprivaterealm beta jokowi q" + std::to_string(i))));
  }
  CHECK(metric(alpha, outbox) == queued);

  beta.start();
  CHECK(eventually([&] { return metric(alpha, outbox) == 0 && metric(alpha, link_up) == 1; }));
  // The audit trail has each link going up and down.
  const std::string log = alpha.log();
  CHECK(log.find("[audit] [info] realm alpha: link to beta up") != std::string::npos);
  CHECK(log.find("[audit] [info] realm alpha: link to beta down") != std::string::npos);
}

TEST_CASE("a stalled store: realmchat_store_stalled 1 and /healthz 503 until it recovers") {
  const TempDir dir;
  RealmdProcess alpha(dir.path(),
                      with_admin(RealmdProcess::config_yaml("alpha", dir.path() / "data",
                                                            users_yaml({"messi", "henderson"}))));
  alpha.start();
  auto messi = login(alpha, "messi");
  // Enough in the WAL that a file size limit at its size fails the next commits (the log,
  // smaller, can still grow): the full disk of tests/fault/store_test.cpp.
  std::string lines;
  for (int i = 0; i < 200; ++i) lines += "send henderson before" + std::to_string(i) + "\n";
  messi->send_raw(lines);
  for (int i = 0; i < 200; ++i) REQUIRE(is_ok(messi->expect_reply()));
  CHECK(get(alpha.admin_port(), "/healthz").ends_with("\r\n\r\nok\n"));

  const auto wal = dir.path() / "data" / "realm.db-wal";
  rlimit limit{};
  REQUIRE(::prlimit(alpha.pid(), RLIMIT_FSIZE, nullptr, &limit) == 0);
  limit.rlim_cur = std::filesystem::file_size(wal);
  REQUIRE(::prlimit(alpha.pid(), RLIMIT_FSIZE, &limit, nullptr) == 0);
  messi->send("send henderson during");  // fails to commit; stalls after CommitQueue::stall_after
  REQUIRE(eventually([&] { return metric(alpha, "realmchat_store_stalled") == 1; }, 20s));
  const std::string health = get(alpha.admin_port(), "/healthz");
  CHECK(health.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(health.ends_with("\r\n\r\nstore stalled\n"));

  limit.rlim_cur = RLIM_INFINITY;
  REQUIRE(::prlimit(alpha.pid(), RLIMIT_FSIZE, &limit, nullptr) == 0);
  CHECK(eventually([&] { return metric(alpha, "realmchat_store_stalled") == 0; }, 20s));
  CHECK(get(alpha.admin_port(), "/healthz").starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("the admin listener speaks HEAD, HTTP/1.0 and keep-alive, and serves nothing else") {
  const TempDir dir;
  RealmdProcess alpha(dir.path(),
                      with_admin(RealmdProcess::config_yaml("alpha", dir.path() / "data")));
  alpha.start();
  const std::uint16_t port = alpha.admin_port();

  // HTTP/1.0 without keep-alive: one answer, then the server closes.
  const std::string old = http_exchange(port, "GET /healthz HTTP/1.0\r\n\r\n");
  CHECK(old.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(old.find("Connection: close\r\n") != std::string::npos);
  CHECK(old.ends_with("\r\n\r\nok\n"));

  // HEAD: GET's headers (Content-Length included), no body.
  const std::string head = http_exchange(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(head.find("Content-Length: ") != std::string::npos);
  CHECK(head.ends_with("\r\n\r\n"));

  // Keep-alive: three requests on one connection (pipelined, the last one closing), three
  // answers in order.
  const std::string three = http_exchange(port,
                                          "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                          "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                          "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: "
                                          "text/plain\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  const std::regex status_line("HTTP/1\\.1 200 OK\r\n");
  CHECK(std::distance(std::sregex_iterator(three.begin(), three.end(), status_line),
                      std::sregex_iterator()) == 3);
  CHECK(three.find("Connection: keep-alive\r\n") < three.find("Connection: close\r\n"));
  CHECK(three.find("realmchat_is_primary 1") != std::string::npos);

  CHECK(get(port, "/").starts_with("HTTP/1.1 404 Not Found\r\n"));
  CHECK(http_exchange(port, "POST /metrics HTTP/1.0\r\n\r\n")
            .starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
  CHECK(http_exchange(port, "nonsense\r\n\r\n").starts_with("HTTP/1.1 400 Bad Request\r\n"));
}
