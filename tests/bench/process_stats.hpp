#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace chatbench {

// The resident set of process `pid` in KiB (VmRSS of /proc/<pid>/status); nullopt when the
// process is gone or the line is missing.
std::optional<std::uint64_t> resident_kib(pid_t pid);

}  // namespace chatbench
