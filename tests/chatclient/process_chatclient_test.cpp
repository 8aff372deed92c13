// The real chatclient binary against a scripted fake realm that pushes events before and
// after replies on the same socket (docs/design.md §7; docs/protocol.md "watch, unwatch").
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/free_port.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"
#include "support/test_ca.hpp"

namespace {

// One client connection on 127.0.0.1:<any port>, over TLS with `certificate` when given one:
// each request line read is answered with the next scripted bytes (events and the reply, each
// ending in "\r\n\r\n").
class FakeRealm {
 public:
  explicit FakeRealm(std::vector<std::string> answers,
                     const std::optional<test_support::TestCa::Leaf>& certificate = std::nullopt)
      : answers_(std::move(answers)) {
    if (certificate) {
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(certificate->certificate.string());
      tls_->use_private_key_file(certificate->key.string(), asio::ssl::context::pem);
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeRealm() { thread_.join(); }
  FakeRealm(const FakeRealm&) = delete;
  FakeRealm& operator=(const FakeRealm&) = delete;

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // The request lines received, without "\n"; complete once the client has exited.
  const std::vector<std::string>& requests() const { return requests_; }

 private:
  void serve() {
    asio::ip::tcp::socket socket(io_);
    acceptor_.accept(socket);
    if (!tls_) return answer(socket);
    asio::ssl::stream<asio::ip::tcp::socket&> stream(socket, *tls_);
    std::error_code error;
    stream.handshake(asio::ssl::stream_base::server, error);
    if (!error) answer(stream);
  }

  template <typename Stream>
  void answer(Stream& socket) {
    std::string received;
    std::error_code error;
    for (const std::string& answer : answers_) {
      const std::size_t length =
          asio::read_until(socket, asio::dynamic_buffer(received), '\n', error);
      if (error) return;
      requests_.push_back(received.substr(0, length - 1));
      received.erase(0, length);
      asio::write(socket, asio::buffer(answer), error);
      if (error) return;
    }
    // Anything more is unscripted: record it, answer nothing, until the client hangs up.
    while (!error) {
      const std::size_t length =
          asio::read_until(socket, asio::dynamic_buffer(received), '\n', error);
      if (!error) {
        requests_.push_back(received.substr(0, length - 1));
        received.erase(0, length);
      }
    }
  }

  std::vector<std::string> answers_;
  std::vector<std::string> requests_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::optional<asio::ssl::context> tls_;
  std::thread thread_;
};

using Run = test_support::CommandRun;

// chatclient with `arguments` (already shell-quoted, saying where to connect); its stdout.
Run run_chatclient(const std::string& arguments) {
  // Times print in the local time zone: fixed here.
  return test_support::run_command("TZ=UTC " + test_support::built_program("chatclient") + " " +
                                   arguments);
}

// chatclient connected to 127.0.0.1:`port` with `arguments`.
Run run_chatclient(std::uint16_t port, const std::string& arguments) {
  return run_chatclient("--connect 127.0.0.1:" + std::to_string(port) + " " + arguments);
}

const std::string token_reply =
    R"({"status":"OK","tokenid":"0b6f3c2e-8d1a-4c55-9e0f-1a2b3c4d5e6f"})"
    "\r\n\r\n";

std::string pushed(const std::string& from, const std::string& realm, const std::string& text,
                   int second) {
  return R"({"event":"message","message":{"id":)" + std::to_string(second) + R"(,"msg_from":")" +
         from + R"(","msg_to":"messi","msg":")" + text + R"(","realm":")" + realm +
         R"(","time":"2026-11-26T22:33:0)" + std::to_string(second) + R"(Z"}})" + "\r\n\r\n";
}

}  // namespace

TEST_CASE("--watch-for: watch after login, events before and after a reply, then exit") {
  FakeRealm realm({
      token_reply,
      R"({"status":"OK","data":{"username":"messi","realm":"alpha"}})"
      "\r\n\r\n",
      R"({"status":"OK","message":"Watching"})"
      "\r\n\r\n",
      pushed("henderson", "alpha", "hello", 1) + R"({"status":"OK","message":"Message sent"})" +
          "\r\n\r\n" + pushed("ronaldo", "beta", "ola", 5),
  });
  const Run run =
      run_chatclient(realm.port(), "-c 'auth messi x' -c 'send henderson hi' --watch-for 1");
  CHECK(run.exit_code == 0);
  CHECK(run.out ==
        "ok: Logged in as messi\n"
        "[22:33:01] henderson: hello\n"
        "ok: Message sent\n"
        "[22:33:05] ronaldo@beta: ola\n");
  CHECK(realm.requests() ==
        std::vector<std::string>{"auth messi x", "info messi", "watch", "send henderson hi"});
}

TEST_CASE("scripts without --watch send only their own lines") {
  FakeRealm realm({token_reply, R"({"status":"OK","messages":{}})"
                                "\r\n\r\n"});
  const Run run = run_chatclient(realm.port(), "-c 'auth messi x' -c inbox");
  CHECK(run.exit_code == 0);
  CHECK(run.out == "ok: Logged in as messi\n(no messages)\n");
  CHECK(realm.requests() == std::vector<std::string>{"auth messi x", "inbox"});
}

TEST_CASE("a reply nobody asked for is the realm's notice, not the next request's reply") {
  FakeRealm realm({token_reply +
                       R"({"status":"ERROR","message":"Tidak aktif terlalu lama, koneksi ditutup"})"
                       "\r\n\r\n",
                   R"({"status":"OK","messages":{}})"
                   "\r\n\r\n"});
  const Run run = run_chatclient(realm.port(), "-c 'auth messi x' -c inbox");
  CHECK(run.exit_code == 0);
  CHECK(run.out ==
        "ok: Logged in as messi\n"
        "server: Tidak aktif terlalu lama, koneksi ditutup\n"
        "(no messages)\n");
}

TEST_CASE("--connect with a list tries each address in turn (a realm with standbys)") {
  FakeRealm realm({R"({"status":"OK","messages":{}})"
                   "\r\n\r\n"});
  const std::uint16_t closed = test_support::free_port();  // nothing listens there
  const Run run = run_chatclient("--connect 127.0.0.1:" + std::to_string(closed) +
                                 ",127.0.0.1:" + std::to_string(realm.port()) + " -c inbox 2>&1");
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("cannot connect to 127.0.0.1:" + std::to_string(closed)) != std::string::npos);
  CHECK(run.out.find("(no messages)") != std::string::npos);
  CHECK(realm.requests() == std::vector<std::string>{"inbox"});
}

TEST_CASE("a failed automatic watch is reported and counts as an error") {
  FakeRealm realm({
      token_reply,
      R"({"status":"OK","data":{"username":"messi","realm":"alpha"}})"
      "\r\n\r\n",
      R"({"status":"ERROR","message":"*Maaf, command tidak benar"})"
      "\r\n\r\n",
  });
  const Run run = run_chatclient(realm.port(), "-c 'auth messi x' --watch --fail-on-error");
  CHECK(run.exit_code == 3);
  CHECK(run.out == "ok: Logged in as messi\nwatch: error: *Maaf, command tidak benar\n");
}

TEST_CASE("TLS: --tls --ca, and a realm config whose tls.clients is on" *
          test_support::TestCa::needed()) {
  using test_support::TestCa;
  test_support::TempDir dir;
  const TestCa ca(dir.path());
  const TestCa::Leaf alpha = ca.issue("alpha", {"127.0.0.1"});
  const std::string ca_file = ca.ca_certificate().string();
  const std::string inbox_reply = R"({"status":"OK","messages":{}})"
                                  "\r\n\r\n";

  SUBCASE("--ca verifies the realm's certificate") {
    FakeRealm realm({inbox_reply}, alpha);
    const Run run = run_chatclient(realm.port(), "--tls --ca '" + ca_file + "' -c inbox");
    CHECK(run.exit_code == 0);
    CHECK(run.out == "(no messages)\n");
    CHECK(realm.requests() == std::vector<std::string>{"inbox"});
  }

  SUBCASE("--config with tls: TLS against the config's tls.ca") {
    FakeRealm realm({inbox_reply}, alpha);
    const auto config = dir.path() / "realm-alpha.yaml";
    std::ofstream(config) << "realm:\n  name: alpha\n  listen: 0.0.0.0:" << realm.port()
                          << "\n  peer_listen: 127.0.0.1:9\ntls:\n  certificate: "
                          << alpha.certificate.string() << "\n  key: " << alpha.key.string()
                          << "\n  ca: " << ca_file << "\n  peers: false\n";
    const Run run = run_chatclient("--config '" + config.string() + "' -c inbox");
    CHECK(run.exit_code == 0);
    CHECK(run.out == "(no messages)\n");
    CHECK(realm.requests() == std::vector<std::string>{"inbox"});
  }

  SUBCASE("a TLS realm reached without --tls: the close suggests it") {
    FakeRealm realm({inbox_reply}, alpha);
    const Run run = run_chatclient(realm.port(), "-c inbox 2>&1");
    CHECK(run.exit_code != 0);
    CHECK(run.out.find("before it said anything (a TLS port? try --tls)") != std::string::npos);
  }

  SUBCASE("a certificate that fails verification: exit 1 and why") {
    const TestCa rogue(dir.path(), "rogue");
    FakeRealm realm({inbox_reply}, rogue.issue("alpha", {"127.0.0.1"}));
    const Run run = run_chatclient(realm.port(), "--ca '" + ca_file + "' -c inbox 2>&1");
    CHECK(run.exit_code == 1);
    CHECK(run.out == "chatclient: cannot connect to 127.0.0.1:" + std::to_string(realm.port()) +
                         ": TLS handshake failed: certificate verify failed (unable to get "
                         "local issuer certificate)\n");
  }
}
