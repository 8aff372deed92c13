#include "system_environment.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sodium.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

namespace realmd {
namespace {

// 128 random bits shaped as an RFC 4122 version 4 UUID, lowercase.
std::string random_uuid() {
  std::array<std::uint8_t, 16> b{};
  randombytes_buf(b.data(), b.size());
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10xx
  return fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
      "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
      b[15]);
}

std::string utc_now_rfc3339() {
  // Every message is stamped, and formatting a time costs more than the rest of a send's
  // reply (docs/performance.md): a second's text is made once, per thread.
  thread_local std::time_t formatted_second = -1;
  thread_local std::string formatted;
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (now != formatted_second) {
    formatted = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(now));
    formatted_second = now;
  }
  return formatted;
}

// 1..2^53-1: it travels as a JSON number (docs/protocol.md §2).
std::uint64_t random_epoch() {
  constexpr std::uint64_t max_epoch = (std::uint64_t{1} << 53) - 1;
  std::uint64_t epoch = 0;
  while (epoch == 0) {
    randombytes_buf(&epoch, sizeof epoch);
    epoch &= max_epoch;
  }
  return epoch;
}

}  // namespace

chat::core::Environment system_environment() {
  return {.new_token = random_uuid,
          .now_utc = utc_now_rfc3339,
          .now = [] { return std::chrono::steady_clock::now(); },
          .epoch = random_epoch(),
          .sign = {},  // RealmServer adds signing (signing_keys.hpp): the key is the realm's
          .verify = {}};
}

}  // namespace realmd
