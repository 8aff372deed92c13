#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>

// What /proc tells about the server under test (Linux).
namespace chatbench {

// The resident set of process `pid` in KiB (VmRSS of /proc/<pid>/status); nullopt when the
// process is gone or the line is missing.
std::optional<std::uint64_t> resident_kib(pid_t pid);

// CPU time process `pid` has used so far, user plus system, every thread (utime + stime of
// /proc/<pid>/stat, in clock ticks: 10 ms resolution); nullopt when it is gone.
std::optional<std::chrono::microseconds> cpu_time(pid_t pid);

// CPU time this process (the load generator) has used so far, user plus system, every thread
// (getrusage: microsecond resolution). Beside the server's, it shows whether the client is what
// bounds a row.
std::chrono::microseconds own_cpu_time();

}  // namespace chatbench
