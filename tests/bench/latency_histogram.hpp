#pragma once
#include <array>
#include <chrono>
#include <cstdint>

namespace chatbench {

// Latencies in a log-linear bucket array (the HdrHistogram layout): exact below 128 ns, then
// 64 buckets per power of two, so any percentile is within 1/64 (1.6%) of the true value.
// Recording is a few shifts and an increment: cheap enough for every reply.
class LatencyHistogram {
 public:
  void record(std::chrono::nanoseconds latency);
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  // The value at `quantile` (0..1), e.g. 0.99 for p99; zero when nothing was recorded.
  std::chrono::nanoseconds percentile(double quantile) const;
  std::chrono::nanoseconds max() const { return std::chrono::nanoseconds(max_); }

 private:
  static constexpr int sub_bits = 6;                             // 64 buckets per power of two
  static constexpr std::uint64_t linear_limit = 2u << sub_bits;  // values below are exact
  static constexpr std::size_t bucket_count = linear_limit + (64 - sub_bits - 1) * (1u << sub_bits);

  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t value_of(std::size_t bucket);  // the bucket's midpoint

  std::array<std::uint64_t, bucket_count> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace chatbench
