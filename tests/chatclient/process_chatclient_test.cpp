// The real chatclient binary against a scripted fake realm that pushes events before and
// after replies on the same socket (DESIGN.md §7; docs/protocol.md "watch, unwatch").
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

// One client connection on 127.0.0.1:<any port>: each request line read is answered with the
// next scripted bytes (events and the reply, each ending in "\r\n\r\n").
class FakeRealm {
 public:
  explicit FakeRealm(std::vector<std::string> answers) : answers_(std::move(answers)) {
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
  std::thread thread_;
};

struct Run {
  int exit_code = -1;
  std::string out;
};

// chatclient with `arguments` (already shell-quoted), stdin from /dev/null.
Run run_chatclient(std::uint16_t port, const std::string& arguments) {
  const char* bin = std::getenv("REALMCHAT_BIN");
  const std::string command = std::string(bin != nullptr ? bin : REALMCHAT_BIN_DIR) +
                              "/chatclient --connect 127.0.0.1:" + std::to_string(port) + " " +
                              arguments + " </dev/null";
  Run run;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char chunk[4096];
  while (const std::size_t n = std::fread(chunk, 1, sizeof chunk, pipe)) run.out.append(chunk, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
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
