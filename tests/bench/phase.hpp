#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "latency_histogram.hpp"
#include "request_source.hpp"

namespace chatbench {

using Clock = std::chrono::steady_clock;

// One phase of a run (setup, login, measurement): what each connection sends, how many
// requests each keeps in flight, and when to stop issuing new ones.
struct PhasePlan {
  // One per connection taking part, in connection order; a phase may use fewer sources
  // than there are connections (the first ones take part).
  std::vector<std::unique_ptr<RequestSource>> sources;
  std::size_t pipeline = 1;
  std::optional<Clock::duration> duration;  // stop issuing after this long
  std::optional<std::uint64_t> count;       // stop issuing after this many requests in all
  // Once the duration is over (from the start when there is none): how long the connections
  // may go without any reply before the ones still waiting give up (their requests count as
  // errors).
  Clock::duration reply_timeout = std::chrono::seconds(30);
  // A reply that is not OK but expected (e.g. "User sudah ada" when setting up again).
  std::function<bool(std::string_view reply)> also_ok;
  // What an OK reply delivered (messages to recipients, messages fetched); default 1.
  std::function<std::uint64_t(std::string_view reply)> items;
};

// What a phase measured.
struct PhaseResult {
  std::uint64_t replies = 0;  // every reply received, OK or not
  std::uint64_t errors = 0;   // non-OK replies, plus requests lost to a closed connection
  std::uint64_t items = 0;
  std::string first_error;  // the first failing request and its reply
  LatencyHistogram latency;
  Clock::duration elapsed{};  // first request issued to last reply received
};

}  // namespace chatbench
