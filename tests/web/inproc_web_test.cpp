// The browser client's transport against an in-process RealmServer on port 0: the page over
// HTTP, then the client protocol over WebSocket frames (one request per text frame, one reply or
// event per frame), its limits and its closing handshakes.
#include <doctest/doctest.h>

#include <asio/post.hpp>
#include <atomic>
#include <regex>
#include <string>
#include <thread>

#include "realm_server.hpp"
#include "store/memory_store.hpp"
#include "support/line_client.hpp"
#include "support/running_realm.hpp"
#include "web_client.hpp"

using test_support::http_exchange;
using test_support::LineClient;
using test_support::WebClient;

namespace {

constexpr std::size_t max_line_bytes = 1024;

// The shared runner on a MemoryStore, with the web listener on.
class RunningRealm : public test_support::RunningRealm {
 public:
  RunningRealm()
      : test_support::RunningRealm(config(), std::make_unique<chat::store::MemoryStore>()) {}

 private:
  static chat::config::RealmConfig config() {
    chat::config::RealmConfig config;
    config.name = "alpha";
    config.listen = {"127.0.0.1", 0};
    config.web_listen = chat::config::Endpoint{"127.0.0.1", 0};
    config.password_cost = chat::config::PasswordCost::min;
    config.limits.max_line_bytes = max_line_bytes;
    config.users = {{"messi", "surabaya", "Lionel_Messi", "Argentina"},
                    {"henderson", "surabaya", "Jordan_Henderson", "Inggris"}};
    return config;
  }
};

const std::regex token_reply(
    R"(\{"status":"OK","tokenid":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"\})");
const std::regex time_field(R"("time":"[^"]*")");

std::string ok(std::string_view message) {
  return R"({"status":"OK","message":")" + std::string(message) + R"("})";
}

std::string error(std::string_view message) {
  return R"({"status":"ERROR","message":")" + std::string(message) + R"("})";
}

void log_in(WebClient& client, std::string_view user) {
  REQUIRE(std::regex_match(client.request("auth " + std::string(user) + " surabaya"), token_reply));
}

// The server's close frame with `code`, then the end of the connection.
void expect_close(WebClient& client, int code) {
  const auto close = client.expect_message();
  CHECK(close.opcode == WSLAY_CONNECTION_CLOSE);
  CHECK(close.close_code == code);
  CHECK(client.wait_closed());
}

}  // namespace

TEST_CASE("the web listener serves the page, and only the page") {
  RunningRealm realm;
  REQUIRE(realm.web_port() != 0);
  const std::string page = http_exchange(realm.web_port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(page.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(page.find("<title>realmchat</title>") != std::string::npos);
  CHECK(http_exchange(realm.web_port(), "GET /app.js HTTP/1.1\r\n\r\n").find("new WebSocket(") !=
        std::string::npos);
  CHECK(http_exchange(realm.web_port(), "GET /nothing HTTP/1.1\r\n\r\n")
            .starts_with("HTTP/1.1 404 Not Found\r\n"));
  CHECK(
      http_exchange(realm.web_port(), "hello\r\n\r\n").starts_with("HTTP/1.1 400 Bad Request\r\n"));
  // A head that does not fit 8 KiB is refused without being read to its end.
  const std::string huge = "GET / HTTP/1.1\r\nX-Filler: " + std::string(9000, 'a') + "\r\n\r\n";
  CHECK(http_exchange(realm.web_port(), huge)
            .starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

TEST_CASE("the web listener answers HEAD and HTTP/1.0, and bare line feeds") {
  RunningRealm realm;
  const std::string get = http_exchange(realm.web_port(), "GET / HTTP/1.1\r\n\r\n");
  const std::string head = http_exchange(realm.web_port(), "HEAD / HTTP/1.1\r\n\r\n");
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head == get.substr(0, get.find("\r\n\r\n") + 4));  // the headers, no body
  const std::string old = http_exchange(realm.web_port(), "GET /style.css HTTP/1.0\r\n\r\n");
  CHECK(old.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(old.find("Connection: close\r\n") != std::string::npos);
  CHECK(http_exchange(realm.web_port(), "GET / HTTP/1.0\nHost: x\n\n")
            .starts_with("HTTP/1.1 200 OK"));
  // A WebSocket needs HTTP/1.1 (RFC 6455 §4.1).
  CHECK(http_exchange(
            realm.web_port(),
            "GET /ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            .starts_with("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_CASE("one request per text frame, one reply per frame, in request order") {
  RunningRealm realm;
  WebClient client(realm.web_port());
  CHECK(client.request("inbox") == error("Session tidak ditemukan"));
  log_in(client, "messi");
  // Pipelined: three frames before reading any reply.
  client.send_text("send henderson one");
  client.send_text("bogus");
  client.send_text("info henderson");
  CHECK(client.expect_text() == ok("Message sent"));
  CHECK(client.expect_text() == error("*Maaf, command tidak benar"));
  CHECK(
      client.expect_text() ==
      R"({"status":"OK","data":{"username":"henderson","nama":"Jordan_Henderson","negara":"Inggris","realm":"alpha","online":false}})");
  // A blank frame, like a blank line, gets no reply.
  client.send_text("");
  CHECK(client.request("logout") == ok("Logout successful"));
}

TEST_CASE("a frame is one line: a trailing line end is dropped, one inside is refused") {
  RunningRealm realm;
  WebClient client(realm.web_port());
  CHECK(std::regex_match(client.request("auth messi surabaya\r\n"), token_reply));
  CHECK(client.request("send henderson two\nlines") == error("Parameter salah / tidak ada"));
  CHECK(client.request(std::string_view("send henderson nul\0inside", 25)) ==
        error("Parameter salah / tidak ada"));
  CHECK(client.request("send henderson still open") == ok("Message sent"));
}

TEST_CASE("a text frame that is not UTF-8 breaks WebSocket itself: close 1007") {
  RunningRealm realm;
  WebClient client(realm.web_port());
  client.send_text("send henderson \xff\xfe");
  expect_close(client, 1007);
}

TEST_CASE("a watching web client gets a line client's message pushed, as its own frame") {
  RunningRealm realm;
  WebClient web(realm.web_port());
  log_in(web, "messi");
  CHECK(web.request("watch") == ok("Watching"));
  LineClient line(realm.port());
  REQUIRE(line.request("auth henderson surabaya").starts_with(R"({"status":"OK")"));
  CHECK(line.request("send messi live from the terminal") == ok("Message sent"));
  const std::string event = web.expect_text();
  CHECK(
      std::regex_replace(event, time_field, R"("time":"T")") ==
      R"({"event":"message","message":{"id":1,"msg_from":"henderson","msg_to":"messi","msg":"live from the terminal","realm":"alpha","time":"T"}})");
  // Pushed counts as fetched: the inbox does not return it again.
  CHECK(web.request("inbox") == R"({"status":"OK","messages":{}})");
}

TEST_CASE("wslay answers pings") {
  RunningRealm realm;
  WebClient client(realm.web_port());
  client.send_ping("are you there");
  const auto pong = client.expect_message();
  CHECK(pong.opcode == WSLAY_PONG);
  CHECK(pong.data == "are you there");
  log_in(client, "messi");
}

TEST_CASE("a binary message closes with 1003, an over-long one with 1009") {
  RunningRealm realm;
  {
    WebClient client(realm.web_port());
    log_in(client, "messi");
    client.send_binary("\x01\x02");
    expect_close(client, 1003);
  }
  {
    WebClient client(realm.web_port());
    client.send_text("send henderson " + std::string(max_line_bytes, 'x'));
    expect_close(client, 1009);
  }
  // The realm serves on.
  WebClient client(realm.web_port());
  log_in(client, "messi");
}

TEST_CASE("a client's close is answered, then the server closes") {
  RunningRealm realm;
  WebClient client(realm.web_port());
  log_in(client, "messi");
  client.send_close(1000);
  expect_close(client, 1000);
}

TEST_CASE("a graceful stop says going away (1001)") {
  RunningRealm realm;
  WebClient client(realm.web_port());
  log_in(client, "messi");
  CHECK(realm.stop() == 0);
  expect_close(client, 1001);
}

TEST_CASE(
    "a WebSocket from another site's page is refused; the page's own origin is served "
    "(regression: any page could talk to the realm as its visitor)") {
  RunningRealm realm;
  const std::string host = "127.0.0.1:" + std::to_string(realm.web_port());
  // The response head (an accepted upgrade keeps the connection open: read up to its end).
  const auto upgrade = [&](const std::string& origin_header) {
    LineClient client(realm.web_port());
    client.send_raw(
        "GET /ws HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        origin_header +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    return client.expect_reply() + "\r\n";
  };
  CHECK(upgrade("Origin: http://evil.example\r\n").starts_with("HTTP/1.1 403 Forbidden\r\n"));
  CHECK(upgrade("Origin: http://" + host + "\r\n").starts_with("HTTP/1.1 101 "));
  CHECK(upgrade("").starts_with("HTTP/1.1 101 "));  // not a browser: no Origin
}
