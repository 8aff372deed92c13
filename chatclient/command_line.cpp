#include "chatclient/command_line.hpp"

#include "protocol/command_parser.hpp"

namespace chat::client {

CommandLine split_command_line(std::string_view line) {
  // The server's own parser, so the client sees a line exactly as the realm will.
  CommandLine command;
  protocol::ParsedLine parsed;
  if (!protocol::parse_line(line, parsed)) return command;
  command.verb = std::move(parsed.verb);
  command.line = std::string(line);
  command.params.reserve(parsed.params.size());
  for (const auto& word : parsed.params) {
    command.params.emplace_back(word.text);
    command.offsets.push_back(word.offset);
  }
  return command;
}

std::string CommandLine::rest_from(std::size_t index) const {
  if (index >= offsets.size()) return {};
  std::string_view rest = std::string_view(line).substr(offsets[index]);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  return std::string(rest);
}

}  // namespace chat::client
