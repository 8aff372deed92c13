#pragma once
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "core/realm.hpp"

namespace chat::core::testing {

// The outside world of a Realm under test: tokens counted in `tokens`
// (00000000-0000-4000-8000-000000000001, ...), one fixed UTC time, and the monotonic clock
// `now` gives (the epoch by default). `tokens` outlives the environment.
inline Environment test_environment(
    int& tokens, std::function<std::chrono::steady_clock::time_point()> now = [] {
      return std::chrono::steady_clock::time_point{};
    }) {
  Environment env;
  env.new_token = [&tokens] {
    char buf[37];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", ++tokens);
    return std::string(buf);
  };
  env.now_utc = [] { return std::string("2026-11-26T22:33:16Z"); };
  env.now = std::move(now);
  return env;
}

}  // namespace chat::core::testing
