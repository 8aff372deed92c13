#include "chatclient/command_line.hpp"

#include "protocol/command_parser.hpp"

namespace chat::client {

CommandLine split_command_line(std::string_view line) {
  // The server's own parser, so the client sees a line exactly as the realm will.
  CommandLine command;
  protocol::ParsedLine parsed;
  if (!protocol::parse_line(line, parsed)) return command;
  command.verb = std::move(parsed.verb);
  command.params.reserve(parsed.params.size());
  for (const auto& word : parsed.params) command.params.emplace_back(word.text);
  return command;
}

}  // namespace chat::client
