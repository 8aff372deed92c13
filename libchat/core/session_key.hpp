#pragma once
#include <string>
#include <string_view>

namespace chat::core {

// The key a session is kept under, in memory and in the store: the SHA-256 of its token, hex
// (64 characters). The store never sees a token, so a copy of it gives nobody a live session;
// tokens are 122 random bits, so an unsalted hash cannot be reversed by guessing.
std::string session_key(std::string_view token);

}  // namespace chat::core
