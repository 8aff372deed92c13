#pragma once
#include <string_view>

// Name rules of docs/contract.md §1.2.
namespace chat::protocol {

// username, group name, realm name: 1 to 32 characters of A-Z a-z 0-9 _ . -
bool is_valid_name(std::string_view name);

// password, namalengkap, negara: 1 to 128 bytes, no spaces and no control characters.
bool is_valid_field(std::string_view field);

}  // namespace chat::protocol
