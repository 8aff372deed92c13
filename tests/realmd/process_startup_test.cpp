// The real realmd binary as an operator meets it (docs/operations.md): options, config
// errors with their file, place and key, unreadable files with the system's reason, listeners
// that cannot bind, --check-config, --version, and the log file that SIGHUP reopens.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/free_port.hpp"
#include "support/poll.hpp"
#include "support/realmd_process.hpp"
#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

using namespace test_support;

namespace {

const std::string usage_line = "usage: realmd --config FILE";

// realmd with these arguments (shell words), stderr and stdout together.
CommandRun realmd(const std::string& arguments) {
  return run_command(built_program("realmd") + " " + arguments + " 2>&1");
}

std::filesystem::path write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string minimal_config(const std::filesystem::path& dir, const std::string& listen = "0") {
  return "realm:\n  name: alpha\n  listen: 127.0.0.1:" + listen +
         "\n  data_dir: " + (dir / "data").string() + "\npassword_cost: min\n";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("bad options and no options exit 2 with the usage line") {
  const CommandRun none = realmd("");
  CHECK(none.exit_code == 2);
  CHECK(contains(none.out, "--config or --check-config is required"));
  CHECK(contains(none.out, usage_line));
  const CommandRun unknown = realmd("--config x.yaml --verbose");
  CHECK(unknown.exit_code == 2);
  CHECK(contains(unknown.out, "--verbose"));
  CHECK(contains(unknown.out, usage_line));
  const CommandRun bad_level = realmd("--config x.yaml --log-level loud");
  CHECK(bad_level.exit_code == 2);
  CHECK(contains(bad_level.out, usage_line));
  CHECK(realmd("--config a.yaml --check-config a.yaml").exit_code == 2);
}

TEST_CASE("--version names the release, the git revision and the libraries") {
  const CommandRun version = realmd("--version");
  CHECK(version.exit_code == 0);
  CHECK(version.out.starts_with("realmd 0."));
  CHECK(contains(version.out, "(git "));
  CHECK(contains(version.out, "sqlite 3."));
  CHECK(contains(version.out, "prometheus-cpp 1."));
  CHECK(contains(version.out, "OpenSSL 3."));
}

TEST_CASE("a config file that cannot be read: exit 2 with the file and the reason") {
  const TempDir dir;
  const CommandRun directory = realmd("--config " + dir.path().string());
  CHECK(directory.exit_code == 2);
  CHECK(contains(directory.out,
                 dir.path().string() + ": cannot read the config file: Is a directory"));
  const CommandRun missing = realmd("--config " + (dir.path() / "none.yaml").string());
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.out, "none.yaml: cannot read the config file: No such file or directory"));

  const auto locked = write_file(dir.path() / "locked.yaml", minimal_config(dir.path()));
  std::filesystem::permissions(locked, std::filesystem::perms::none);
  // Root reads any file: as root, realmd runs as nobody for this case.
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  const std::string as_user =
      ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  const CommandRun unreadable =
      run_command(as_user + built_program("realmd") + " --config " + locked.string() + " 2>&1");
  CHECK(unreadable.exit_code == 2);
  CHECK(contains(unreadable.out, "locked.yaml: cannot read the config file: Permission denied"));
}

TEST_CASE("config errors: exit 2 naming the file, line:column and key") {
  const TempDir dir;
  const auto file = write_file(dir.path() / "bad.yaml", minimal_config(dir.path()) +
                                                            "limits:\n"
                                                            "  max_connections: lots\n");
  const CommandRun run = realmd("--config " + file.string());
  CHECK(run.exit_code == 2);
  CHECK(contains(run.out, file.string() +
                              ":7:3: limits.max_connections: expected a positive integer, got "
                              "'lots'"));
  const auto unknown =
      write_file(dir.path() / "unknown.yaml", minimal_config(dir.path()) + "limit: {}\n");
  const CommandRun unknown_run = realmd("--config " + unknown.string());
  CHECK(unknown_run.exit_code == 2);
  CHECK(contains(unknown_run.out, unknown.string() + ":6:1: unknown key 'limit'"));
  const auto syntax = write_file(dir.path() / "syntax.yaml", "realm: {name: a\n");
  const CommandRun syntax_run = realmd("--config " + syntax.string());
  CHECK(syntax_run.exit_code == 2);
  CHECK(contains(syntax_run.out, syntax.string() + ":2:1: YAML syntax error"));
}

TEST_CASE("--check-config: 0 for a good config, 2 naming what is wrong, nothing started") {
  const TempDir dir;
  const auto good = write_file(dir.path() / "good.yaml", minimal_config(dir.path()));
  const CommandRun ok = realmd("--check-config " + good.string());
  CHECK(ok.exit_code == 0);
  CHECK(contains(ok.out, good.string() + ": ok (realm alpha"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "data"));  // no store was opened

  const auto limits = write_file(
      dir.path() / "limits.yaml",
      minimal_config(dir.path()) + "limits: {max_line_bytes: 1000, max_message_bytes: 1000}\n");
  const CommandRun too_small = realmd("--check-config " + limits.string());
  CHECK(too_small.exit_code == 2);
  CHECK(contains(too_small.out,
                 "limits.max_line_bytes: 1000 cannot hold a send of limits.max_message_bytes"));

  // The link frame limit must hold the longest message escaped (6 bytes a byte): too small
  // is refused, unset is derived.
  const auto frames = write_file(dir.path() / "frames.yaml",
                                 minimal_config(dir.path()) +
                                     "limits: {max_line_bytes: 200000, max_message_bytes: 100000, "
                                     "max_frame_bytes: 1000}\n");
  const CommandRun small_frames = realmd("--check-config " + frames.string());
  CHECK(small_frames.exit_code == 2);
  CHECK(contains(small_frames.out, "limits.max_frame_bytes: must be at least 600512"));
  const auto derived_frames = write_file(
      dir.path() / "derived.yaml",
      minimal_config(dir.path()) + "limits: {max_line_bytes: 200000, max_message_bytes: 100000}\n");
  const CommandRun derived = realmd("--check-config " + derived_frames.string());
  CHECK(derived.exit_code == 0);
  CHECK(contains(derived.out, "realm link frames up to 600512 bytes"));

  const auto tls = write_file(dir.path() / "tls.yaml",
                              minimal_config(dir.path()) +
                                  "tls: {certificate: /nonexistent.crt, key: /nonexistent.key, "
                                  "peers: false}\n");
  const CommandRun no_certificate = realmd("--check-config " + tls.string());
  CHECK(no_certificate.exit_code == 2);
  CHECK(contains(no_certificate.out, "/nonexistent.crt"));
}

TEST_CASE("a listener that cannot bind: exit 2 naming the listener and the address") {
  const TempDir dir;
  asio::io_context io;
  asio::ip::tcp::acceptor taken(io, {asio::ip::address_v4::loopback(), free_port()});
  const std::string port = std::to_string(taken.local_endpoint().port());
  const auto clients = write_file(dir.path() / "clients.yaml", minimal_config(dir.path(), port));
  const CommandRun run = realmd("--config " + clients.string());
  CHECK(run.exit_code == 2);
  CHECK(contains(run.out,
                 "cannot listen for clients on 127.0.0.1:" + port + ": Address already in use"));

  std::string admin_yaml = minimal_config(dir.path());
  admin_yaml.insert(admin_yaml.find("  data_dir"), "  admin_listen: 127.0.0.1:" + port + "\n");
  const auto admin = write_file(dir.path() / "admin.yaml", admin_yaml);
  const CommandRun admin_run = realmd("--config " + admin.string());
  CHECK(admin_run.exit_code == 2);
  CHECK(contains(admin_run.out, "cannot listen for admin (/healthz, /metrics) on 127.0.0.1:" +
                                    port + ": Address already in use"));
}

TEST_CASE("a data directory in use or unusable: exit 2 with the reason") {
  const TempDir dir;
  RealmdProcess first(dir.path(), minimal_config(dir.path()));
  first.start();
  const auto second = write_file(dir.path() / "second.yaml", minimal_config(dir.path()));
  const CommandRun in_use = realmd("--config " + second.string());
  CHECK(in_use.exit_code == 2);
  CHECK(contains(in_use.out, "is in use by another realmd (pid " + std::to_string(first.pid())));
  CHECK(first.terminate() == 0);

  const TempDir other;
  write_file(other.path() / "data", "a file where the data directory should be\n");
  const auto blocked = write_file(other.path() / "realm.yaml", minimal_config(other.path()));
  const CommandRun not_a_directory = realmd("--config " + blocked.string());
  CHECK(not_a_directory.exit_code == 2);
  CHECK(contains(not_a_directory.out, (other.path() / "data").string()));
}

TEST_CASE("--log-file: JSON lines, reopened on SIGHUP after a rotation; SIGHUP does no harm") {
  const TempDir dir;
  const auto config = write_file(dir.path() / "realm.yaml", minimal_config(dir.path()));
  const auto log = dir.path() / "realmd.log";
  const std::string program = built_program("realmd");
  const std::string config_path = config.string(), log_path = log.string();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl(program.c_str(), program.c_str(), "--config", config_path.c_str(), "--log-file",
            log_path.c_str(), "--log-format", "json", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto stop = [pid] {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  REQUIRE(eventually([&] { return contains(read_file(log), "clients on 127.0.0.1:"); }));
  CHECK(read_file(log).starts_with(R"({"time":")"));
  CHECK(contains(read_file(log),
                 R"("level":"info","logger":"realmd","msg":"realm alpha: clients on)"));

  const auto rotated = dir.path() / "realmd.log.1";
  std::filesystem::rename(log, rotated);
  ::kill(pid, SIGHUP);
  const bool reopened = eventually([&] {
    return std::filesystem::exists(log) &&
           contains(read_file(log), "SIGHUP: reopened the log file");
  });
  CHECK(reopened);
  CHECK_FALSE(contains(read_file(rotated), "SIGHUP"));
  ::kill(pid, SIGHUP);  // again: still alive, still logging to the new file
  CHECK(eventually([&] {
    const std::string text = read_file(log);
    return text.find("SIGHUP") != text.rfind("SIGHUP");
  }));
  CHECK(stop() == 0);
  CHECK(contains(read_file(log), "realm alpha: stopped"));
}

namespace {

// A datagram socket standing in for systemd's notification socket ($NOTIFY_SOCKET).
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.string().copy(address.sun_path, sizeof address.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~NotifySocket() { ::close(fd_); }
  // The next message, "" after 10 s without one.
  std::string next() {
    char buffer[1024];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("under systemd: READY once listening, WATCHDOG while serving, STOPPING at the stop") {
  // (SIGHUP on the way: harmless without a log file.)
  const TempDir dir;
  const auto config = write_file(dir.path() / "realm.yaml", minimal_config(dir.path()));
  NotifySocket systemd(dir.path() / "notify");
  const std::string program = built_program("realmd");
  const std::string config_path = config.string(), socket_path = (dir.path() / "notify").string();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // What systemd sets for Type=notify with WatchdogSec=0.2 (realmd pings every 0.1 s).
    ::setenv("NOTIFY_SOCKET", socket_path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "200000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDERR_FILENO);
    ::execl(program.c_str(), program.c_str(), "--config", config_path.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const std::string ready = systemd.next();
  CHECK(ready.starts_with("READY=1\n"));
  int watchdogs = 0;
  while (watchdogs < 3 && systemd.next() == "WATCHDOG=1") ++watchdogs;
  CHECK(watchdogs == 3);
  ::kill(pid, SIGHUP);  // without --log-file: nothing to reopen, and no harm done
  CHECK(systemd.next() == "WATCHDOG=1");
  CHECK(::waitpid(pid, nullptr, WNOHANG) == 0);
  ::kill(pid, SIGTERM);
  std::string message;
  while ((message = systemd.next()) == "WATCHDOG=1") {
  }
  CHECK(message.starts_with("STOPPING=1"));
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
