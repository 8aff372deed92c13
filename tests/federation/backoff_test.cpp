#include "federation/backoff.hpp"

#include <doctest/doctest.h>

#include <vector>

using chat::federation::Backoff;
using std::chrono::milliseconds;

namespace {

// The largest value the contract allows: the delay equals the ceiling.
std::uint32_t highest(std::uint32_t upper_bound) {
  return upper_bound - 1;
}

}  // namespace

TEST_CASE("ceilings double from 100 ms and stop at 30 s") {
  Backoff backoff(highest);
  std::vector<long> delays;
  for (int i = 0; i < 12; ++i) delays.push_back(backoff.next().count());
  CHECK(delays ==
        std::vector<long>{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000});
}

TEST_CASE("full jitter: the random source sees the ceiling inclusive, and may give zero") {
  std::vector<std::uint32_t> bounds;
  Backoff backoff([&bounds](std::uint32_t upper_bound) {
    bounds.push_back(upper_bound);
    return 0u;
  });
  CHECK(backoff.next() == milliseconds(0));
  CHECK(backoff.next() == milliseconds(0));
  CHECK(backoff.next() == milliseconds(0));
  CHECK(bounds == std::vector<std::uint32_t>{101, 201, 401});
}

TEST_CASE("reset starts over from the initial delay") {
  Backoff backoff(highest);
  for (int i = 0; i < 20; ++i) backoff.next();
  CHECK(backoff.ceiling() == milliseconds(30'000));
  backoff.reset();
  CHECK(backoff.ceiling() == milliseconds(100));
  CHECK(backoff.next() == milliseconds(100));
  CHECK(backoff.next() == milliseconds(200));
}

TEST_CASE("custom bounds") {
  Backoff backoff(highest, milliseconds(10), milliseconds(35));
  CHECK(backoff.next() == milliseconds(10));
  CHECK(backoff.next() == milliseconds(20));
  CHECK(backoff.next() == milliseconds(35));
  CHECK(backoff.next() == milliseconds(35));
}

TEST_CASE("the default random source stays within the ceiling") {
  Backoff backoff;
  for (int i = 0; i < 200; ++i) {
    const milliseconds ceiling = backoff.ceiling();
    const milliseconds delay = backoff.next();
    CHECK(delay >= milliseconds(0));
    CHECK(delay <= ceiling);
    if (i % 15 == 14) backoff.reset();
  }
}
