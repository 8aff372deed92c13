#pragma once
#include <string>
#include <utility>

#include "support/needs_tool.hpp"

namespace test_support {

// A network namespace of its own for a test (`ip netns add`), with its loopback up: a private
// network stack, so that a test can cut a real link (docs/reliability.md, the partition test).
// Needs root (CAP_SYS_ADMIN) and iproute2. Deleted by the destructor; namespaces left by a test
// process that was killed are deleted by the next one (see sweep_stale_namespaces).
class NetNamespace {
 public:
  // `role` names it within the test ("db", "holder"); the full name also holds the test
  // process's pid, so that parallel runs never collide.
  explicit NetNamespace(const std::string& role);
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  const std::string& name() const { return name_; }
  // Runs `work` with the calling thread inside this namespace (setns), then moves the thread
  // back. A socket made meanwhile stays in this namespace: a client of a process run in it.
  template <typename Work>
  auto inside(Work work) const {
    const Entered entered(*this);
    return work();
  }

 private:
  class Entered {
   public:
    explicit Entered(const NetNamespace& target);
    ~Entered();
    Entered(const Entered&) = delete;
    Entered& operator=(const Entered&) = delete;

   private:
    int home_ = -1;  // the thread's own namespace, to return to
  };

  std::string name_;
};

// A veth pair: one end in `a` with address `a_address`, the other in `b` with `b_address`
// (both "10.x.y.z", on a /24), both up. Goes with its namespaces.
class VethLink {
 public:
  VethLink(const NetNamespace& a, std::string a_end, const std::string& a_address,
           const NetNamespace& b, std::string b_end, const std::string& b_address);
  // `ip link set ... down` / `up` of the end in `a`: the end in `b` loses its carrier, and what
  // it sends is dropped without an error, as when a cable or a switch port goes.
  void cut();
  void restore();

 private:
  std::string a_namespace_;
  std::string a_end_;
};

// Whether this process may make network namespaces (root, iproute2): the decorator for a case
// that needs them (skipped elsewhere, a failure under CI; needs_tool.hpp).
inline NeedsTool needs_network_namespaces() {
  return needs_tool("command -v ip >/dev/null 2>&1 && unshare --net true >/dev/null 2>&1",
                    "needs root and iproute2 for network namespaces");
}

}  // namespace test_support
