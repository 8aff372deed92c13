#pragma once
#include "bench_options.hpp"
#include "bench_report.hpp"

namespace chatbench {

// Connects, sets up the bench users (realmchat targets), logs each connection in, runs the
// measured phase of the workload and returns what it measured. Throws std::runtime_error
// when the target cannot be reached or its setup fails.
BenchReport run_bench(const Options& options);

}  // namespace chatbench
