#include "protocol/command_parser.hpp"

#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>

namespace chat::protocol {
namespace {

constexpr char separator = ' ';

char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Output side of RapidJSON's validator: only the verdict is wanted, not a copy.
struct DiscardBytes {
  void Put(char) {}
};

}  // namespace

std::string_view ParsedLine::rest_from(std::size_t index) const {
  if (index >= params.size()) return {};
  std::string_view rest = line.substr(params[index].offset);
  const std::size_t last = rest.find_last_not_of(" \t");
  // params[index] is a word, so rest holds at least one character that is not a space; it
  // may still be all tabs, since tabs belong to words.
  return last == std::string_view::npos ? std::string_view{} : rest.substr(0, last + 1);
}

bool parse_line(std::string_view line, ParsedLine& out) {
  out.verb.clear();
  out.params.clear();
  out.line = line;

  bool have_verb = false;
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = line.find_first_not_of(separator, pos);
    if (start == std::string_view::npos) break;
    std::size_t end = line.find(separator, start);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view word = line.substr(start, end - start);
    if (have_verb) {
      out.params.push_back({word, start});
    } else {
      out.verb.reserve(word.size());
      for (char c : word) out.verb.push_back(to_lower_ascii(c));
      have_verb = true;
    }
    pos = end;
  }
  return have_verb;
}

bool is_valid_utf8(std::string_view bytes) {
  // MemoryStream, not StringStream: it is bounded by the size and yields '\0' at the end
  // instead of reading on, so a sequence truncated at the end of `bytes` cannot overrun it.
  // Embedded NUL is rejected on purpose: it is valid UTF-8, but no name or message needs it
  // and C-string consumers downstream would cut the text there.
  // ASCII first, a byte at a time (the common case: most lines are ASCII only): each byte is
  // a whole character, so the validator takes over at a character boundary if at all.
  std::size_t ascii = 0;
  while (ascii < bytes.size() && static_cast<unsigned char>(bytes[ascii] - 1) < 0x7f) ++ascii;
  bytes.remove_prefix(ascii);
  rapidjson::MemoryStream input(bytes.data(), bytes.size());
  DiscardBytes sink;
  while (input.Tell() < bytes.size()) {
    if (input.Peek() == '\0') return false;
    if (!rapidjson::UTF8<>::Validate(input, sink)) return false;
  }
  return true;
}

bool looks_like_token(std::string_view word) {
  // 8-4-4-4-12 hex digits: dashes at these positions, hex everywhere else.
  constexpr std::size_t token_length = 36;
  if (word.size() != token_length) return false;
  for (std::size_t i = 0; i < token_length; ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? word[i] != '-' : !is_hex_digit(word[i])) return false;
  }
  return true;
}

}  // namespace chat::protocol
