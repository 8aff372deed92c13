#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chat::client {

// A line the user typed, cut into words the way the server does (docs/contract.md §1.1): the
// command word lower-cased, parameters separated by one or more spaces.
struct CommandLine {
  std::string verb;
  std::vector<std::string> params;
  std::string line;                  // the whole line as typed
  std::vector<std::size_t> offsets;  // where each parameter starts in `line`

  bool empty() const { return verb.empty(); }
  // Local commands start with '/' and never reach the server.
  bool is_local() const { return verb.starts_with('/'); }
  // A message text starting at params[index], as the server takes it: to the end of the line,
  // trailing spaces and tabs removed, inner spacing kept. Empty past the last parameter.
  std::string rest_from(std::size_t index) const;
};

CommandLine split_command_line(std::string_view line);

}  // namespace chat::client
