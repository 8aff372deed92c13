#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace test_support {

// A real realmd process (REALMCHAT_BIN/realmd) run from a generated config file, for tests
// that kill -9 and restart it. Its output goes to a log file per start in `dir`.
class RealmdProcess {
 public:
  // A config for realm `name` listening for clients on port 0 and for realm links on
  // `peer_port` (0: any free port), storing in `data_dir`, with the federation secret
  // "test-secret" and test-speed password hashing. `extra_yaml` is appended (top-level keys
  // such as users:, peers: or limits:). A non-zero `keepalive` sets federation.keepalive_ms.
  static std::string config_yaml(const std::string& name, const std::filesystem::path& data_dir,
                                 const std::string& extra_yaml = "", std::uint16_t peer_port = 0,
                                 std::chrono::milliseconds keepalive = {});

  // Writes the config file into `dir` (which must exist).
  RealmdProcess(std::filesystem::path dir, const std::string& config_yaml);
  ~RealmdProcess();  // kills a running process
  RealmdProcess(const RealmdProcess&) = delete;
  RealmdProcess& operator=(const RealmdProcess&) = delete;

  // Starts the process and waits until it logs its client port; throws if it exits or stays
  // silent past the deadline (the message holds its log). The process ignores SIGXFSZ, so
  // that a file size limit (a full disk, as the fault tests make one) fails its writes
  // instead of killing it.
  void start();
  // Starts a realmd on a shared store that must come up as a standby (another holds the
  // realm's lease): waits for it to say so; throws if it serves or exits instead.
  void start_standby();
  // Waits until the process serves (logs its client port): a standby that took the lease over.
  bool wait_serving(std::chrono::milliseconds within);
  // Waits for the process to exit on its own; its exit code (-1: a signal), or nothing if it
  // still runs at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds within);
  // Options given to realmd after --config FILE from the next start on (e.g. --log-file).
  void set_arguments(std::vector<std::string> arguments) { arguments_ = std::move(arguments); }
  // Runs the process in the network namespace `name` (`ip netns add`; support/net_namespace.hpp)
  // from the next start on: its 127.0.0.1 is that namespace's own.
  void set_network_namespace(std::string name) { network_namespace_ = std::move(name); }
  std::uint16_t client_port() const { return port_; }
  // The port of its admin listener (0 if it logged none: no realm.admin_listen).
  std::uint16_t admin_port() const { return admin_port_; }
  // The port of its realm-link listener (0 if it logged none).
  std::uint16_t peer_port() const { return peer_port_; }
  // SIGKILL and reap: the crash case.
  void kill9();
  // SIGSTOP / SIGCONT: a process that is alive but silent (a partition, a stalled machine).
  void pause();
  void resume();
  pid_t pid() const { return pid_; }
  // SIGTERM and reap; returns the exit code (-1 if a signal ended it).
  int terminate();
  bool running() const { return pid_ > 0; }
  // The log of the latest start.
  std::string log() const;

 private:
  int reap();
  void spawn();
  // True once the log shows the client port (read into port_ and peer_port_).
  bool read_ports();

  std::filesystem::path dir_;
  std::filesystem::path config_file_;
  std::filesystem::path log_file_;
  int starts_ = 0;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t peer_port_ = 0;
  std::uint16_t admin_port_ = 0;
  std::vector<std::string> arguments_;
  std::string network_namespace_;
};

}  // namespace test_support
