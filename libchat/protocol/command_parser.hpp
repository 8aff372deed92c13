#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chat::protocol {

// One request line cut into words. Words are separated by one or more spaces.
// The line is kept so that a command can take "the rest of the line" as message text.
struct ParsedLine {
  std::string verb;  // the command word, lower-cased
  struct Word {
    std::string_view text;
    std::size_t offset;  // position of the word in `line`
  };
  std::vector<Word> params;  // words after the verb
  std::string_view line;     // the whole line (borrowed from the caller)

  // Message text starting at params[index]: everything from that word to the end of the
  // line, trailing spaces and tabs removed, inner spacing kept. Empty if index is past the end.
  std::string_view rest_from(std::size_t index) const;
};

// Returns false for a line that is empty or only spaces (it gets no reply).
bool parse_line(std::string_view line, ParsedLine& out);

// True when `bytes` is well-formed UTF-8 without NUL bytes (uses RapidJSON's validator, which
// rejects overlong forms, surrogates and truncated sequences).
bool is_valid_utf8(std::string_view bytes);

// True for the shape of a session token: a lowercase or uppercase 8-4-4-4-12 hex UUID.
bool looks_like_token(std::string_view word);

}  // namespace chat::protocol
