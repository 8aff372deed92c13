#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace chat::client {

// A line the user typed, cut into words the way the server does (PROTOCOL.md §1.1): the
// command word lower-cased, parameters separated by one or more spaces.
struct CommandLine {
  std::string verb;
  std::vector<std::string> params;

  bool empty() const { return verb.empty(); }
  // Local commands start with '/' and never reach the server.
  bool is_local() const { return verb.starts_with('/'); }
};

CommandLine split_command_line(std::string_view line);

}  // namespace chat::client
