#include "support/net_namespace.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "support/run_command.hpp"

namespace test_support {
namespace {

constexpr const char* kPrefix = "realmchat-test-";

// Runs an `ip` command; throws with its output when it fails.
void ip(const std::string& arguments) {
  const CommandRun done = run_command("ip " + arguments + " 2>&1");
  if (done.exit_code != 0) {
    throw std::runtime_error("`ip " + arguments + "` failed (exit " +
                             std::to_string(done.exit_code) + "): " + done.out);
  }
}

// Namespaces named after a test process that is gone: that process was killed before its
// destructors ran. Deleting them keeps a crashed run from leaving them behind for good.
void sweep_stale_namespaces() {
  std::istringstream names(run_command("ip netns list 2>/dev/null").out);
  for (std::string line; std::getline(names, line);) {
    const std::string name = line.substr(0, line.find(' '));
    if (!name.starts_with(kPrefix)) continue;
    const std::string rest = name.substr(std::string(kPrefix).size());
    const pid_t owner = static_cast<pid_t>(std::atoi(rest.c_str()));
    if (owner <= 0 || ::kill(owner, 0) == 0 || errno != ESRCH) continue;
    run_command("ip netns delete " + name + " 2>/dev/null");
  }
}

int open_namespace(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  return fd;
}

}  // namespace

NetNamespace::NetNamespace(const std::string& role)
    : name_(kPrefix + std::to_string(::getpid()) + "-" + role) {
  sweep_stale_namespaces();
  ip("netns add " + name_);
  try {
    ip("-n " + name_ + " link set dev lo up");
  } catch (...) {
    run_command("ip netns delete " + name_ + " 2>/dev/null");
    throw;
  }
}

NetNamespace::~NetNamespace() {
  // Its veth ends go with it; a process still inside keeps it alive until that process ends.
  run_command("ip netns delete " + name_ + " 2>/dev/null");
}

NetNamespace::Entered::Entered(const NetNamespace& target)
    : home_(open_namespace("/proc/thread-self/ns/net")) {
  const int fd = open_namespace("/run/netns/" + target.name());
  const int entered = ::setns(fd, CLONE_NEWNET);
  const int error = errno;
  ::close(fd);
  if (entered != 0) {
    ::close(home_);
    throw std::system_error(error, std::generic_category(), "setns " + target.name());
  }
}

NetNamespace::Entered::~Entered() {
  // A thread left in the wrong namespace would make every later socket of the test wrong.
  if (::setns(home_, CLONE_NEWNET) != 0) std::abort();
  ::close(home_);
}

VethLink::VethLink(const NetNamespace& a, std::string a_end, const std::string& a_address,
                   const NetNamespace& b, std::string b_end, const std::string& b_address)
    : a_namespace_(a.name()), a_end_(std::move(a_end)) {
  // Made inside `a` with its peer put straight into `b`: no name ever appears in the
  // machine's own namespace.
  ip("-n " + a.name() + " link add name " + a_end_ + " type veth peer name " + b_end + " netns " +
     b.name());
  ip("-n " + a.name() + " addr add " + a_address + "/24 dev " + a_end_);
  ip("-n " + b.name() + " addr add " + b_address + "/24 dev " + b_end);
  ip("-n " + a.name() + " link set dev " + a_end_ + " up");
  ip("-n " + b.name() + " link set dev " + b_end + " up");
}

void VethLink::cut() {
  ip("-n " + a_namespace_ + " link set dev " + a_end_ + " down");
}

void VethLink::restore() {
  ip("-n " + a_namespace_ + " link set dev " + a_end_ + " up");
}

}  // namespace test_support
