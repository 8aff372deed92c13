#pragma once
#include <chrono>
#include <cstdint>
#include <functional>

namespace chat::federation {

// Redial delays for a peer link: "full jitter" exponential backoff. The n-th delay since the
// last reset is uniform in [0, min(cap, initial * 2^n)]: spreading redials at random keeps a
// cluster's realms from reconnecting in lock step after an outage.
class Backoff {
 public:
  // Returns a uniform value in [0, upper_bound) (the contract of libsodium's randombytes_uniform).
  using UniformRandom = std::function<std::uint32_t(std::uint32_t upper_bound)>;

  static constexpr std::chrono::milliseconds default_initial{100};
  static constexpr std::chrono::milliseconds default_cap{30'000};

  // The default random source is libsodium's randombytes_uniform.
  explicit Backoff(UniformRandom random = {}, std::chrono::milliseconds initial = default_initial,
                   std::chrono::milliseconds cap = default_cap);

  // The delay before the next redial; each call doubles the ceiling until it reaches the cap.
  std::chrono::milliseconds next();

  // After a successful link: the next delay starts from `initial` again.
  void reset() { ceiling_ = initial_; }

  // The upper bound of the next delay.
  std::chrono::milliseconds ceiling() const { return ceiling_; }

 private:
  UniformRandom random_;
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds cap_;
  std::chrono::milliseconds ceiling_;
};

}  // namespace chat::federation
