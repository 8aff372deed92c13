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
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "chatclient/line_editor.hpp"

namespace chat::client {
namespace {

struct CommandHelp {
  const char* name;
  const char* params;
  const char* what;
};

// PROTOCOL.md §1.5, in the order a new user meets them.
constexpr std::array<CommandHelp, 14> protocol_commands{{
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
    {"realms", "", "the realms this realm links to, and their state"},
}};
constexpr std::array<CommandHelp, 3> local_commands{{
    {"/help", "", "this list"},
    {"/quiet", "", "live view off/on (new messages shown as they arrive)"},
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

std::string_view without_trailing_cr(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

}  // namespace

Repl::Repl(Connection& connection, ReplOptions options)
    : connection_(connection), options_(std::move(options)) {}

int Repl::run() {
  connection_.on_event([this](std::string_view event) { show_event(event); });
  try {
    if (!options_.commands.empty() || !isatty(STDIN_FILENO)) {
      live_ = options_.watch;
      const bool finished = !options_.commands.empty() ? run_commands() : run_stream(std::cin);
      if (finished && options_.watch_for.count() > 0) {
        connection_.pass_events_for(options_.watch_for);
      }
      return exit_code();
    }
    live_ = true;
    run_terminal();
    return exit_code();
  } catch (const ConnectionError& error) {
    std::cout << std::flush;
    std::cerr << "chatclient: " << error.what() << "\n";
    return exit_connection_failed;
  }
}

bool Repl::run_commands() {
  for (const std::string& text : options_.commands) {
    // A -c value holding several lines is several commands: each line gets its own reply.
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (handle_line(without_trailing_cr(std::string_view(text).substr(start, end - start))) ==
          Next::quit) {
        return false;
      }
      start = end + 1;
    }
  }
  return true;
}

bool Repl::run_stream(std::istream& in) {
  std::string line;
  while (std::getline(in, line)) {
    if (handle_line(without_trailing_cr(line)) == Next::quit) return false;
  }
  return true;
}

void Repl::run_terminal() {
  interactive_ = true;
  rl_readline_name = "realmchat";
  rl_attempted_completion_function = complete_command;
  editor_.emplace(connection_.io_context(), history_path());

  std::cout << "Connected. Type /help for the commands, /quit to leave.\n";
  while (true) {
    const auto line = editor_->read_line(prompt(), [this] { connection_.check_open(); });
    if (!line) break;  // Ctrl-D
    const CommandLine command = split_command_line(*line);
    if (!command.empty() && !carries_password(command)) editor_->add_to_history(*line);
    if (handle_line(*line) == Next::quit) break;
  }
  editor_.reset();
}

Repl::Next Repl::handle_line(std::string_view line) {
  const CommandLine command = split_command_line(line);
  if (command.empty()) return Next::read_more;  // the server would not answer it
  if (command.is_local()) {
    if (command.verb == "/quit" || command.verb == "/exit") return Next::quit;
    if (command.verb == "/help") {
      std::cout << help_text() << std::flush;
    } else if (command.verb == "/quiet") {
      toggle_live_view();
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
    learn_from(command);
  }
}

void Repl::learn_from(const CommandLine& command) {
  if (command.verb == "watch" || command.verb == "unwatch") {
    live_ = command.verb == "watch";
    return;
  }
  if (command.verb == "logout" && command.params.empty()) {
    user_.reset();
    realm_.reset();
    return;
  }
  if (!carries_password(command) || command.params.empty()) return;
  user_ = command.params.front();
  realm_.reset();
  // Scripts get exactly one printed reply per line they send; the requests below are the
  // client's own. The prompt and pushed messages need the realm (senders from elsewhere
  // show theirs), and a new login is not watched yet.
  if (!interactive_ && !live_) return;
  connection_.send_line("info " + *user_);
  realm_ = realm_of_info_reply(connection_.read_reply());
  if (live_) send_own_request("watch");
}

void Repl::toggle_live_view() {
  live_ = !live_;
  std::cout << (live_ ? "live view on: new messages show as they arrive\n"
                      : "live view off: new messages wait for inbox / getrealminbox\n")
            << std::flush;
  if (user_) send_own_request(live_ ? "watch" : "unwatch");
}

void Repl::send_own_request(std::string_view line) {
  connection_.send_line(line);
  const PrintedReply printed =
      print_reply(split_command_line(line), connection_.read_reply(), options_.print);
  // Only a failure is news: the user did not type this request.
  if (!printed.is_error) return;
  saw_error_ = true;
  std::cout << line << ": " << printed.text << std::flush;
}

void Repl::show_event(std::string_view event_json) {
  const std::string text = print_event(
      event_json, realm_ ? std::optional<std::string_view>(*realm_) : std::nullopt, options_.print);
  if (text.empty()) return;
  if (editor_) {
    editor_->print_above(text);
  } else {
    std::cout << text << std::flush;
  }
}

std::string Repl::prompt() const {
  if (!user_) return options_.prompt_before_login;
  return *user_ + (realm_ ? "@" + *realm_ : "") + "> ";
}

int Repl::exit_code() const {
  return options_.fail_on_error && saw_error_ ? exit_had_errors : exit_ok;
}

}  // namespace chat::client
