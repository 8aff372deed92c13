#include "chatclient/repl.hpp"

// readline's headers need FILE declared first.
#include <cstdio>
// clang-format off
#include <readline/readline.h>
#include <readline/history.h>
// clang-format on
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>

namespace chat::client {
namespace {

struct CommandHelp {
  const char* name;
  const char* params;
  const char* what;
};

// PROTOCOL.md §1.5, in the order a new user meets them.
constexpr std::array<CommandHelp, 13> protocol_commands{{
    {"register", "USERNAME PASSWORD NAMALENGKAP NEGARA", "create an account and log in"},
    {"auth", "USERNAME PASSWORD", "log in"},
    {"logout", "", "log out"},
    {"info", "USERNAME", "show a user"},
    {"send", "USERNAME MESSAGE", "private message"},
    {"addgroup", "GROUP", "create a group (you become a member)"},
    {"joingroup", "GROUP", "join a group"},
    {"sendgroup", "GROUP MESSAGE", "message every other member"},
    {"inbox", "", "new messages from this realm"},
    {"addrealm", "REALM [HOST PORT]", "link a realm (HOST PORT: admins only)"},
    {"sendprivaterealm", "REALM USERNAME MESSAGE", "private message to a user of REALM"},
    {"sendgrouprealm", "REALM GROUP MESSAGE", "message a group of REALM"},
    {"getrealminbox", "REALM", "new messages from REALM"},
}};
constexpr std::array<CommandHelp, 2> local_commands{{
    {"/help", "", "this list"},
    {"/quit", "", "leave (also Ctrl-D)"},
}};

std::string help_text() {
  std::string out = "Commands (your login stays bound to this connection):\n";
  auto add = [&out](const CommandHelp& command) {
    std::string syntax = std::string(command.name) + " " + command.params;
    syntax.resize(std::max<std::size_t>(syntax.size(), 48), ' ');
    out += "  " + syntax + command.what + "\n";
  };
  for (const auto& command : protocol_commands) add(command);
  out += "Local commands:\n";
  for (const auto& command : local_commands) add(command);
  out += "MESSAGE is the rest of the line. Lines with auth or register stay out of the history.\n";
  return out;
}

// Passwords must not land in the history file.
bool carries_password(const CommandLine& command) {
  return command.verb == "auth" || command.verb == "register";
}

// Tab completes the command word only (readline would complete file names otherwise).
char* next_command_name(const char* prefix, int state) {
  static std::size_t index = 0;
  if (state == 0) index = 0;
  const std::string_view wanted(prefix);
  while (index < protocol_commands.size() + local_commands.size()) {
    const CommandHelp& command = index < protocol_commands.size()
                                     ? protocol_commands[index]
                                     : local_commands[index - protocol_commands.size()];
    ++index;
    if (std::string_view(command.name).starts_with(wanted)) return strdup(command.name);
  }
  return nullptr;
}

char** complete_command(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;
  return start == 0 ? rl_completion_matches(text, next_command_name) : nullptr;
}

// ~/.realmchat_history, or nothing without a home directory.
std::string history_path() {
  const char* home = std::getenv("HOME");
  return home != nullptr && *home != '\0' ? std::string(home) + "/.realmchat_history" : "";
}

constexpr int history_lines = 1000;

std::string_view without_trailing_cr(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

}  // namespace

Repl::Repl(Connection& connection, ReplOptions options)
    : connection_(connection), options_(std::move(options)) {}

int Repl::run() {
  try {
    if (!options_.commands.empty()) return run_commands();
    if (isatty(STDIN_FILENO)) return run_terminal();
    return run_stream(std::cin);
  } catch (const ConnectionError& error) {
    std::cout << std::flush;
    std::cerr << "chatclient: " << error.what() << "\n";
    return exit_connection_failed;
  }
}

int Repl::run_commands() {
  for (const std::string& text : options_.commands) {
    // A -c value holding several lines is several commands: each line gets its own reply.
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (handle_line(without_trailing_cr(std::string_view(text).substr(start, end - start))) ==
          Next::quit) {
        return exit_code();
      }
      start = end + 1;
    }
  }
  return exit_code();
}

int Repl::run_stream(std::istream& in) {
  std::string line;
  while (std::getline(in, line)) {
    if (handle_line(without_trailing_cr(line)) == Next::quit) break;
  }
  return exit_code();
}

int Repl::run_terminal() {
  interactive_ = true;
  rl_readline_name = "realmchat";
  rl_attempted_completion_function = complete_command;
  using_history();
  stifle_history(history_lines);
  const std::string history = history_path();
  // write_history creates the file (mode 0600) so that append_history can add to it.
  if (!history.empty() && read_history(history.c_str()) == ENOENT) write_history(history.c_str());

  std::cout << "Connected. Type /help for the commands, /quit to leave.\n";
  while (true) {
    const std::unique_ptr<char, decltype(&std::free)> input(readline(prompt().c_str()), &std::free);
    if (!input) break;  // Ctrl-D (readline has already moved to a new line)
    const std::string_view line(input.get());
    const CommandLine command = split_command_line(line);
    if (!command.empty() && !carries_password(command)) {
      const HIST_ENTRY* last =
          history_length > 0 ? history_get(history_base + history_length - 1) : nullptr;
      if (last == nullptr || line != last->line) {
        add_history(input.get());
        if (!history.empty()) append_history(1, history.c_str());
      }
    }
    if (handle_line(line) == Next::quit) break;
  }
  if (!history.empty()) history_truncate_file(history.c_str(), history_lines);
  return exit_code();
}

Repl::Next Repl::handle_line(std::string_view line) {
  const CommandLine command = split_command_line(line);
  if (command.empty()) return Next::read_more;  // the server would not answer it
  if (command.is_local()) {
    if (command.verb == "/quit" || command.verb == "/exit") return Next::quit;
    if (command.verb == "/help") {
      std::cout << help_text() << std::flush;
    } else {
      saw_error_ = true;
      std::cerr << "chatclient: unknown local command " << command.verb << " (try /help)\n";
    }
    return Next::read_more;
  }
  exchange(command, line);
  return Next::read_more;
}

void Repl::exchange(const CommandLine& command, std::string_view line) {
  connection_.send_line(line);
  const PrintedReply printed = print_reply(command, connection_.read_reply(), options_.print);
  std::cout << printed.text << std::flush;
  if (printed.is_error) {
    saw_error_ = true;
  } else {
    learn_login(command);
  }
}

void Repl::learn_login(const CommandLine& command) {
  if (command.verb == "logout" && command.params.empty()) {
    user_.reset();
    realm_.reset();
    return;
  }
  if (!carries_password(command) || command.params.empty()) return;
  user_ = command.params.front();
  realm_.reset();
  // Only a prompt needs the realm; scripts get exactly one reply per line they send.
  if (!interactive_) return;
  connection_.send_line("info " + *user_);
  realm_ = realm_of_info_reply(connection_.read_reply());
}

std::string Repl::prompt() const {
  if (!user_) return options_.prompt_before_login;
  return *user_ + (realm_ ? "@" + *realm_ : "") + "> ";
}

int Repl::exit_code() const {
  return options_.fail_on_error && saw_error_ ? exit_had_errors : exit_ok;
}

}  // namespace chat::client
