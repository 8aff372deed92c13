#include "protocol/names.hpp"

#include <algorithm>

namespace chat::protocol {

namespace {
constexpr std::size_t max_name = 32;
constexpr std::size_t max_field = 128;

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}
}  // namespace

bool is_valid_name(std::string_view name) {
  return !name.empty() && name.size() <= max_name &&
         std::all_of(name.begin(), name.end(), is_name_char);
}

bool is_valid_field(std::string_view field) {
  // Bytes >= 0x80 are allowed (UTF-8 was validated for the whole line); control bytes and
  // DEL are not, so a name never carries terminal escapes into another user's screen.
  return !field.empty() && field.size() <= max_field &&
         std::none_of(field.begin(), field.end(), [](char c) {
           auto b = static_cast<unsigned char>(c);
           return b <= 0x20 || b == 0x7f;
         });
}

}  // namespace chat::protocol
