#pragma once
#include "core/realm.hpp"

namespace realmd {

// The real clocks and random source behind chat::core::Environment: tokens are random v4
// UUIDs from libsodium (sodium_init() must have run), times are UTC to the second.
chat::core::Environment system_environment();

}  // namespace realmd
