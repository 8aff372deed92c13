#include "chatclient/command_line.hpp"

#include <algorithm>
#include <cctype>

namespace chat::client {

CommandLine split_command_line(std::string_view line) {
  CommandLine command;
  std::size_t pos = 0;
  while (pos < line.size()) {
    pos = line.find_first_not_of(' ', pos);
    if (pos == std::string_view::npos) break;
    std::size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    std::string word(line.substr(pos, end - pos));
    if (command.verb.empty()) {
      std::ranges::transform(word, word.begin(),
                             [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      command.verb = std::move(word);
    } else {
      command.params.push_back(std::move(word));
    }
    pos = end;
  }
  return command;
}

}  // namespace chat::client
