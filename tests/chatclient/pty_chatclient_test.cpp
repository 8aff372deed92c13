// The real chatclient in a pseudo-terminal (readline, as a person uses it) against a real
// realmd: the realm is killed and restarted mid-session, or closes an idle connection with a
// notice; the client must say so, reconnect and keep the line being typed.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/free_port.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realmd_process.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;

// chatclient on the slave side of a pty; the test types on the master side and reads all
// the terminal shows.
class TerminalClient {
 public:
  TerminalClient(const std::vector<std::string>& arguments, const std::filesystem::path& home,
                 const std::string& password) {
    const std::string program = test_support::built_program("chatclient");
    std::vector<std::string> args{program};
    args.insert(args.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env{"TERM=xterm", "TZ=UTC", "HOME=" + home.string()};
    if (!password.empty()) env.push_back("REALMCHAT_PASSWORD=" + password);
    std::vector<char*> envp;
    for (auto& entry : env) envp.push_back(entry.data());
    envp.push_back(nullptr);
    winsize size{};
    size.ws_row = 40;
    size.ws_col = 200;
    pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
    if (pid_ == 0) {
      ::execve(program.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
  }
  ~TerminalClient() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::close(master_);
  }
  TerminalClient(const TerminalClient&) = delete;
  TerminalClient& operator=(const TerminalClient&) = delete;

  void type(const std::string& keys) {
    if (::write(master_, keys.data(), keys.size()) != static_cast<ssize_t>(keys.size())) {
      throw std::runtime_error("cannot type into the pty");
    }
  }

  // Waits until the screen output after `from` holds `text`; returns where it ends.
  std::size_t expect(const std::string& text, std::size_t from = 0) {
    std::size_t found = std::string::npos;
    test_support::eventually(
        [&] {
          drain();
          found = shown_.find(text, from);
          return found != std::string::npos;
        },
        20s);
    if (found == std::string::npos) {
      FAIL("the terminal never showed \"" << text << "\"; it showed:\n" << shown_);
    }
    return found + text.size();
  }

  const std::string& shown() {
    drain();
    return shown_;
  }

 private:
  void drain() {
    char chunk[4096];
    ssize_t n = 0;
    while ((n = ::read(master_, chunk, sizeof chunk)) > 0) shown_.append(chunk, n);
  }

  pid_t pid_ = -1;
  int master_ = -1;
  std::string shown_;
};

// A TCP proxy in front of a realm that can drop every connection and hold new ones off
// (accepted and closed at once) while the realm process, and its sessions, live on.
class DroppingProxy {
 public:
  explicit DroppingProxy(std::uint16_t target) : target_(target) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~DroppingProxy() {
    run_on_io([this] {
      acceptor_.close();
      drop();
    });
    thread_.join();
  }
  DroppingProxy(const DroppingProxy&) = delete;
  DroppingProxy& operator=(const DroppingProxy&) = delete;

  std::uint16_t port() const { return port_; }
  // Drops every connection; new ones are closed at once until release().
  void hold() {
    run_on_io([this] {
      holding_ = true;
      drop();
    });
  }
  void release() {
    run_on_io([this] { holding_ = false; });
  }

 private:
  using tcp = asio::ip::tcp;
  struct Pair {
    explicit Pair(asio::io_context& io, tcp::socket client)
        : client(std::move(client)), realm(io) {}
    tcp::socket client;
    tcp::socket realm;
    std::array<char, 8192> up{};
    std::array<char, 8192> down{};
  };

  void run_on_io(const std::function<void()>& work) {
    std::promise<void> done;
    asio::post(io_, [&] {
      work();
      done.set_value();
    });
    done.get_future().wait();
  }

  void drop() {
    for (const auto& pair : pairs_) {
      std::error_code ignored;
      pair->client.close(ignored);
      pair->realm.close(ignored);
    }
    pairs_.clear();
  }

  void accept() {
    acceptor_.async_accept([this](const std::error_code& error, tcp::socket client) {
      if (error) return;  // closed
      if (!holding_) {
        auto pair = std::make_shared<Pair>(io_, std::move(client));
        std::error_code refused;
        pair->realm.connect({asio::ip::make_address("127.0.0.1"), target_}, refused);
        if (!refused) {
          pump(pair, pair->client, pair->realm, pair->up);
          pump(pair, pair->realm, pair->client, pair->down);
          pairs_.push_back(pair);
        }
      }
      accept();
    });
  }

  void pump(const std::shared_ptr<Pair>& pair, tcp::socket& from, tcp::socket& to,
            std::array<char, 8192>& buffer) {
    from.async_read_some(asio::buffer(buffer), [this, pair, &from, &to, &buffer](
                                                   const std::error_code& error, std::size_t n) {
      if (error) return close(*pair);
      asio::async_write(
          to, asio::buffer(buffer.data(), n),
          [this, pair, &from, &to, &buffer](const std::error_code& failed, std::size_t) {
            if (failed) return close(*pair);
            pump(pair, from, to, buffer);
          });
    });
  }

  static void close(Pair& pair) {
    std::error_code ignored;
    pair.client.close(ignored);
    pair.realm.close(ignored);
  }

  std::uint16_t target_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::uint16_t port_ = acceptor_.local_endpoint().port();
  bool holding_ = false;
  std::vector<std::shared_ptr<Pair>> pairs_;
  std::thread thread_;
};

// A realm whose client port stays the same across restarts (the client redials it).
std::string realm_yaml(const std::filesystem::path& dir, std::uint16_t client_port,
                       const std::string& extra = "") {
  return "realm:\n  name: alpha\n  listen: 127.0.0.1:" + std::to_string(client_port) +
         "\n  peer_listen: 127.0.0.1:0\n  data_dir: " + (dir / "data").string() +
         "\nfederation:\n  secret: test-secret\ndurability: process\npassword_cost: min\n"
         "users:\n  - {username: messi, password: pw, nama: Lionel_Messi, negara: Argentina}\n"
         "  - {username: henderson, password: pw, nama: Jordan_Henderson, negara: Inggris}\n"
         "  - {username: rooney, password: s3cretword, nama: Wayne_Rooney, negara: Inggris}\n" +
         extra;
}

}  // namespace

TEST_CASE("pty: the realm is killed and restarted; the client reconnects and keeps the line") {
  test_support::TempDir dir;
  const std::uint16_t port = test_support::free_port();
  test_support::RealmdProcess realm(dir.path(), realm_yaml(dir.path(), port));
  realm.start();
  TerminalClient client({"--connect", "127.0.0.1:" + std::to_string(port), "--user", "messi"},
                        dir.path(), "pw");
  client.expect("ok: Logged in as messi");
  std::size_t at = client.expect("messi@alpha> ");

  client.type("/help sen");  // half a line, no Enter
  at = client.expect("/help sen", at);
  realm.kill9();
  at = client.expect("connection lost: ", at);
  at = client.expect("reconnecting to 127.0.0.1:" + std::to_string(port), at);
  realm.start();
  at = client.expect("reconnected to 127.0.0.1:" + std::to_string(port), at);
  // Sessions are stored: the token works across the restart.
  at = client.expect("session of messi resumed", at);
  // The prompt comes back with the half-typed line; finishing it runs the whole line.
  at = client.expect("> /help sen", at);
  client.type("d\r");
  client.expect("usage: send USERNAME[@REALM] MESSAGE", at);
}

TEST_CASE("pty: the realm's idle notice is shown; the next command connects again") {
  test_support::TempDir dir;
  const std::uint16_t port = test_support::free_port();
  test_support::RealmdProcess realm(
      dir.path(), realm_yaml(dir.path(), port, "limits:\n  unauthenticated_idle_ms: 300\n"));
  realm.start();
  TerminalClient client({"--connect", "127.0.0.1:" + std::to_string(port)}, dir.path(), "");
  std::size_t at = client.expect("realmchat> ");
  client.type("auth mes");
  at = client.expect("server: Tidak aktif terlalu lama, koneksi ditutup", at);
  at = client.expect("(not connected: the next command connects again)", at);
  at = client.expect("realmchat> auth mes", at);
  client.type("si pw\r");
  at = client.expect("reconnected to 127.0.0.1:" + std::to_string(port), at);
  at = client.expect("ok: Logged in as messi", at);
  client.expect("messi@alpha> ", at);
}

TEST_CASE("pty: user@realm addressing, help with usage, errors with a hint") {
  test_support::TempDir dir;
  const std::uint16_t port = test_support::free_port();
  test_support::RealmdProcess realm(dir.path(), realm_yaml(dir.path(), port));
  realm.start();
  TerminalClient client({"--connect", "127.0.0.1:" + std::to_string(port), "--user", "messi"},
                        dir.path(), "pw");
  std::size_t at = client.expect("messi@alpha> ");
  client.type("/msg henderson@alpha hello  there\r");
  at = client.expect("ok: Message sent", at);
  client.type("send henderson\r");  // caught here: no text
  at = client.expect("error: usage: send USERNAME[@REALM] MESSAGE", at);
  client.type("info\r");  // the realm's error, with the usage under it
  at = client.expect("error: Parameter salah / tidak ada", at);
  at = client.expect("  usage: info USERNAME", at);
  client.type("frobnicate\r");
  at = client.expect("error: *Maaf, command tidak benar", at);
  at = client.expect("  type help for the commands", at);
  client.type("/join football@beta\r");
  at = client.expect("error: groups of beta are created and joined on beta", at);
  client.type("help\r");
  at = client.expect("  watch ", at);
  client.expect("  /history ", at);
}

TEST_CASE("pty: a dropped connection resumes its session by token and shows what came meanwhile") {
  test_support::TempDir dir;
  test_support::RealmdProcess realm(dir.path(), realm_yaml(dir.path(), test_support::free_port()));
  realm.start();
  DroppingProxy proxy(realm.client_port());
  TerminalClient client(
      {"--connect", "127.0.0.1:" + std::to_string(proxy.port()), "--user", "messi"}, dir.path(),
      "pw");
  std::size_t at = client.expect("messi@alpha> ");
  test_support::LineClient henderson(realm.client_port());
  REQUIRE(henderson.request("auth henderson pw").find("\"OK\"") != std::string::npos);

  client.type("send henderson h");
  at = client.expect("send henderson h", at);
  proxy.hold();
  at = client.expect("connection lost: ", at);
  CHECK(henderson.request("send messi sent while you were away").find("Message sent") !=
        std::string::npos);
  proxy.release();
  at = client.expect("reconnected to 127.0.0.1:" + std::to_string(proxy.port()), at);
  at = client.expect("session of messi resumed", at);
  at = client.expect("while you were away:", at);
  at = client.expect("henderson: sent while you were away", at);
  at = client.expect("> send henderson h", at);
  // Live again (pushed, or polled when the realm cannot push to a resumed session).
  CHECK(henderson.request("send messi and now").find("Message sent") != std::string::npos);
  at = client.expect("henderson: and now", at);
  // The kept line, finished, goes out in token mode on the new connection.
  client.type("i\r");
  client.expect("ok: Message sent", at);
  CHECK(henderson.request("inbox").find("\"msg\":\"hi\"") != std::string::npos);
}

TEST_CASE("pty: --user without REALMCHAT_PASSWORD asks for the password without echo") {
  test_support::TempDir dir;
  const std::uint16_t port = test_support::free_port();
  test_support::RealmdProcess realm(dir.path(), realm_yaml(dir.path(), port));
  realm.start();
  TerminalClient client({"--connect", "127.0.0.1:" + std::to_string(port), "--user", "rooney"},
                        dir.path(), "");
  std::size_t at = client.expect("password for rooney: ");
  client.type("s3cretword\r");
  at = client.expect("ok: Logged in as rooney", at);
  client.expect("rooney@alpha> ", at);
  CHECK(client.shown().find("s3cretword") == std::string::npos);
}
