#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace chatbench {

std::size_t LatencyHistogram::bucket_of(std::uint64_t value) {
  if (value < linear_limit) return static_cast<std::size_t>(value);
  // value has its top bit at `msb` >= sub_bits + 1; keep the sub_bits + 1 top bits.
  const int msb = std::bit_width(value) - 1;
  const int shift = msb - sub_bits;
  const std::uint64_t top = value >> shift;  // in [64, 128)
  return linear_limit + static_cast<std::size_t>(shift - 1) * (1u << sub_bits) +
         static_cast<std::size_t>(top - (1u << sub_bits));
}

std::uint64_t LatencyHistogram::value_of(std::size_t bucket) {
  if (bucket < linear_limit) return bucket;
  const std::size_t above = bucket - linear_limit;
  const int shift = static_cast<int>(above >> sub_bits) + 1;
  const std::uint64_t top = (above & ((1u << sub_bits) - 1)) + (1u << sub_bits);
  return (top << shift) + (std::uint64_t{1} << (shift - 1));
}

void LatencyHistogram::record(std::chrono::nanoseconds latency) {
  const auto value = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0));
  ++buckets_[bucket_of(value)];
  ++count_;
  max_ = std::max(max_, value);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < bucket_count; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::chrono::nanoseconds LatencyHistogram::percentile(double quantile) const {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  const auto rank = static_cast<std::uint64_t>(
      std::ceil(std::clamp(quantile, 0.0, 1.0) * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      return std::chrono::nanoseconds(std::min(value_of(i), max_));
    }
  }
  return max();
}

}  // namespace chatbench
