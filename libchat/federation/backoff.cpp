#include "federation/backoff.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace chat::federation {
namespace {

std::uint32_t sodium_uniform(std::uint32_t upper_bound) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  return randombytes_uniform(upper_bound);
}

}  // namespace

Backoff::Backoff(UniformRandom random, std::chrono::milliseconds initial,
                 std::chrono::milliseconds cap)
    : random_(random ? std::move(random) : sodium_uniform),
      initial_(initial),
      cap_(std::max(cap, initial)),
      ceiling_(initial) {}

std::chrono::milliseconds Backoff::next() {
  // Inclusive of the ceiling: uniform over ceiling + 1 values.
  const auto bound = static_cast<std::uint32_t>(ceiling_.count()) + 1;
  const std::chrono::milliseconds delay{random_(bound)};
  ceiling_ = std::min(ceiling_ * 2, cap_);
  return delay;
}

}  // namespace chat::federation
