#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "bench_options.hpp"
#include "phase.hpp"

namespace chatbench {

// What a run measured, printed for people and as one JSON line for scripts.
struct BenchReport {
  Options options;
  PhaseResult measured;
  std::optional<std::uint64_t> deliveries;  // when the workload delivers (or fetches) messages
  std::optional<std::uint64_t> server_rss_kb;
  // CPU the server used during the measured phase: per request, it does not depend on how
  // much CPU the machine had to spare (other load, the client on the same cores).
  std::optional<std::chrono::microseconds> server_cpu;
  // The same for the realms of --path-pid together (nullopt without them, or when one is gone).
  std::optional<std::chrono::microseconds> path_cpu;
  // CPU chatbench itself used during the measured phase (its own TLS work included).
  std::chrono::microseconds client_cpu{0};
  std::optional<std::uint64_t> answering;  // idle: connections that answered after the hold
  std::string note;                        // e.g. why every realm send failed
};

// Human-readable lines on stdout, then the JSON line (it starts with `{"bench":`).
void print_report(const BenchReport& report);

}  // namespace chatbench
