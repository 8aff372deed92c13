#include "process_rss.hpp"

#include <fstream>
#include <sstream>
#include <string>

namespace chatbench {

std::optional<std::uint64_t> resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    std::uint64_t kib = 0;
    if (fields >> kib) return kib;
  }
  return std::nullopt;
}

}  // namespace chatbench
