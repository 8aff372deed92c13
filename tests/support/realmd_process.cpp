#include "support/realmd_process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "support/poll.hpp"
#include "support/postgres_server.hpp"

namespace test_support {

namespace {

// REALMCHAT_TEST_STORE=postgres runs the process suites on PostgreSQL: each realm's store is a
// database of the shared test server named after its data_dir (unique per test, the same across
// restarts), so no two tests share rows.
std::string test_store_yaml(const std::filesystem::path& data_dir) {
  const char* store = std::getenv("REALMCHAT_TEST_STORE");
  if (store == nullptr || std::string(store) != "postgres") return "";
  const std::string database =
      "rc_" + std::to_string(std::hash<std::string>{}(data_dir.lexically_normal().string()));
  PostgresServer& server = shared_postgres();
  if (server.query("SELECT count(*) FROM pg_database WHERE datname = '" + database + "'") == "0") {
    server.query("CREATE DATABASE " + database);
  }
  return "store: {url: '" + server.url(database) + "', lease_ms: 1000}\n";
}

}  // namespace

std::string RealmdProcess::config_yaml(const std::string& name,
                                       const std::filesystem::path& data_dir,
                                       const std::string& extra_yaml, std::uint16_t peer_port,
                                       std::chrono::milliseconds keepalive) {
  const std::string keepalive_yaml =
      keepalive.count() > 0 ? "  keepalive_ms: " + std::to_string(keepalive.count()) + "\n" : "";
  return "realm:\n"
         "  name: " +
         name +
         "\n"
         "  listen: 127.0.0.1:0\n"
         "  peer_listen: 127.0.0.1:" +
         std::to_string(peer_port) +
         "\n"
         "  data_dir: " +
         data_dir.string() +
         "\n"
         "federation:\n"
         "  secret: test-secret\n" +
         keepalive_yaml +
         "durability: process\n"
         "password_cost: min\n" +
         (extra_yaml.find("\nstore:") == std::string::npos && !extra_yaml.starts_with("store:")
              ? test_store_yaml(data_dir)
              : "") +
         extra_yaml;
}

RealmdProcess::RealmdProcess(std::filesystem::path dir, const std::string& config_yaml)
    : dir_(std::move(dir)), config_file_(dir_ / "realmd.yaml") {
  std::ofstream(config_file_) << config_yaml;
}

RealmdProcess::~RealmdProcess() {
  if (running()) kill9();
}

void RealmdProcess::spawn() {
  if (running()) throw std::logic_error("realmd is already running");
  const char* bin_dir = std::getenv("REALMCHAT_BIN");
  if (bin_dir == nullptr) throw std::runtime_error("REALMCHAT_BIN is not set");
  const std::string binary = std::string(bin_dir) + "/realmd";
  const std::string config = config_file_.string();
  log_file_ = dir_ / ("realmd-" + std::to_string(++starts_) + ".log");
  const std::string log_path = log_file_.string();
  std::vector<char*> argv{const_cast<char*>(binary.c_str()), const_cast<char*>("--config"),
                          const_cast<char*>(config.c_str())};
  for (std::string& argument : arguments_) argv.push_back(argument.data());
  argv.push_back(nullptr);
  port_ = 0;
  peer_port_ = 0;
  admin_port_ = 0;
  int network = -1;
  if (!network_namespace_.empty()) {
    const std::string path = "/run/netns/" + network_namespace_;
    network = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (network < 0) throw std::runtime_error("cannot open network namespace " + path);
  }

  pid_ = ::fork();
  if (pid_ < 0) {
    if (network >= 0) ::close(network);
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {  // child: only async-signal-safe calls until exec
    if (network >= 0 && ::setns(network, CLONE_NEWNET) != 0) ::_exit(126);
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) {
      ::dup2(log, STDOUT_FILENO);
      ::dup2(log, STDERR_FILENO);
    }
    ::signal(SIGXFSZ, SIG_IGN);  // kept across exec
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  if (network >= 0) ::close(network);
}

bool RealmdProcess::read_ports() {
  // realmd logs its peer port (if any) before its client port ("clients (TLS) on ..." with TLS).
  static const std::regex listening(R"(clients (?:\(TLS\) )?on 127\.0\.0\.1:(\d+))");
  static const std::regex peers_listening(R"(peers (?:\(TLS\) )?on 127\.0\.0\.1:(\d+))");
  static const std::regex admin_listening(R"(admin \(/healthz, /metrics\) on 127\.0\.0\.1:(\d+))");
  std::smatch match;
  const std::string text = log();
  // The admin listener opens first, on a standby too.
  admin_port_ = std::regex_search(text, match, admin_listening)
                    ? static_cast<std::uint16_t>(std::stoi(match[1]))
                    : 0;
  if (!std::regex_search(text, match, listening)) return false;
  port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
  peer_port_ = std::regex_search(text, match, peers_listening)
                   ? static_cast<std::uint16_t>(std::stoi(match[1]))
                   : 0;
  return true;
}

void RealmdProcess::start() {
  spawn();
  bool exited = false;
  const bool ready = eventually([&] {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited = true;
      return true;
    }
    return read_ports();
  });
  if (exited || !ready) {
    if (exited) {
      pid_ = -1;
    } else {
      kill9();
    }
    throw std::runtime_error("realmd did not start; its log:\n" + log());
  }
}

void RealmdProcess::start_standby() {
  spawn();
  const bool standby = eventually([&] {
    return !wait_exit(std::chrono::milliseconds(0)) && !read_ports() &&
           log().find("standby: waiting for the lease") != std::string::npos;
  });
  if (!standby || port_ != 0 || !running()) {
    kill9();
    throw std::runtime_error("realmd did not start as a standby; its log:\n" + log());
  }
}

bool RealmdProcess::wait_serving(std::chrono::milliseconds within) {
  return eventually([&] { return read_ports(); }, within);
}

std::optional<int> RealmdProcess::wait_exit(std::chrono::milliseconds within) {
  std::optional<int> code;
  eventually(
      [&] {
        if (!running()) return true;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
        pid_ = -1;
        code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return true;
      },
      within);
  return code;
}

void RealmdProcess::kill9() {
  if (!running()) return;  // never kill(-1, ...): that signals every process of the user
  ::kill(pid_, SIGKILL);
  reap();
}

void RealmdProcess::pause() {
  if (running()) ::kill(pid_, SIGSTOP);
}

void RealmdProcess::resume() {
  if (running()) ::kill(pid_, SIGCONT);
}

int RealmdProcess::terminate() {
  if (!running()) throw std::logic_error("realmd is not running");
  ::kill(pid_, SIGTERM);
  return reap();
}

int RealmdProcess::reap() {
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string RealmdProcess::log() const {
  std::ifstream in(log_file_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace test_support
