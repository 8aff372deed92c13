#include "support/realmd_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "support/poll.hpp"

namespace test_support {

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
         extra_yaml;
}

RealmdProcess::RealmdProcess(std::filesystem::path dir, const std::string& config_yaml)
    : dir_(std::move(dir)), config_file_(dir_ / "realmd.yaml") {
  std::ofstream(config_file_) << config_yaml;
}

RealmdProcess::~RealmdProcess() {
  if (running()) kill9();
}

void RealmdProcess::start() {
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

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {  // child: only async-signal-safe calls until exec
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) {
      ::dup2(log, STDOUT_FILENO);
      ::dup2(log, STDERR_FILENO);
    }
    ::signal(SIGXFSZ, SIG_IGN);  // kept across exec
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }

  // realmd logs its peer port (if any) before its client port ("clients (TLS) on ..." with TLS).
  const std::regex listening(R"(clients (?:\(TLS\) )?on 127\.0\.0\.1:(\d+))");
  const std::regex peers_listening(R"(peers (?:\(TLS\) )?on 127\.0\.0\.1:(\d+))");
  const std::regex admin_listening(R"(admin \(/healthz, /metrics\) on 127\.0\.0\.1:(\d+))");
  bool exited = false;
  const bool ready = eventually([&] {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited = true;
      return true;
    }
    std::smatch match;
    const std::string text = log();
    if (!std::regex_search(text, match, listening)) return false;
    port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
    peer_port_ = std::regex_search(text, match, peers_listening)
                     ? static_cast<std::uint16_t>(std::stoi(match[1]))
                     : 0;
    admin_port_ = std::regex_search(text, match, admin_listening)
                      ? static_cast<std::uint16_t>(std::stoi(match[1]))
                      : 0;
    return true;
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
