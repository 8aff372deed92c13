// The real chatclient in a pseudo-terminal (readline, as a person uses it) against a real
// realmd: the realm is killed and restarted mid-session, or closes an idle connection with a
// notice; the client must say so, reconnect and keep the line being typed.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/free_port.hpp"
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
    std::vector<std::string> env{"TERM=xterm", "TZ=UTC", "HOME=" + home.string(),
                                 "REALMCHAT_PASSWORD=" + password};
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

// A realm whose client port stays the same across restarts (the client redials it).
std::string realm_yaml(const std::filesystem::path& dir, std::uint16_t client_port,
                       const std::string& extra = "") {
  return "realm:\n  name: alpha\n  listen: 127.0.0.1:" + std::to_string(client_port) +
         "\n  peer_listen: 127.0.0.1:0\n  data_dir: " + (dir / "data").string() +
         "\nfederation:\n  secret: test-secret\ndurability: process\npassword_cost: min\n"
         "users:\n  - {username: messi, password: pw, nama: Lionel_Messi, negara: Argentina}\n"
         "  - {username: henderson, password: pw, nama: Jordan_Henderson, negara: Inggris}\n" +
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
  // The token is tried: the session resumes, or (a realm that forgot it) a login is asked for.
  test_support::eventually([&] {
    const std::string& shown = client.shown();
    return shown.find("session of messi resumed", at) != std::string::npos ||
           shown.find("please log in again", at) != std::string::npos;
  });
  const std::string& shown = client.shown();
  CHECK((shown.find("session of messi resumed", at) != std::string::npos ||
         shown.find("please log in again", at) != std::string::npos));
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
