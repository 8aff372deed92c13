#pragma once
#include <chrono>
#include <thread>

namespace test_support {

// Polls `pred` until it holds or the deadline passes (NATS's checkFor): tests wait for
// conditions, never for fixed times.
template <typename Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds within = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace test_support
