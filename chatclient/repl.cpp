#include "chatclient/repl.hpp"

// readline's headers need FILE declared first.
#include <cstdio>
// clang-format off
#include <readline/readline.h>
#include <readline/history.h>
// clang-format on
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "chatclient/commands.hpp"
#include "chatclient/line_editor.hpp"
#include "federation/backoff.hpp"
#include "protocol/command_parser.hpp"
#include "protocol/messages.hpp"

namespace chat::client {
namespace {

// A resumed session that the realm cannot push to is polled this often.
constexpr std::chrono::seconds poll_interval{5};
// Redials after a lost connection: full jitter, 0.5 s doubling up to 15 s.
constexpr std::chrono::milliseconds first_redial_ceiling{500};
constexpr std::chrono::milliseconds redial_cap{15'000};

// Passwords must not land in the history file.
bool carries_password(const CommandLine& command) {
  return command.verb == "auth" || command.verb == "register";
}

// Tab completes the command word, then names seen (readline would complete file names).
bool completing_command = false;

char* next_completion(const char* prefix, int state) {
  static std::vector<std::string> candidates;
  static std::size_t index = 0;
  if (state == 0) {
    index = 0;
    candidates.clear();
    if (completing_command) {
      for (const CommandHelp& help : all_commands()) candidates.emplace_back(help.name);
    } else {
      candidates.assign(seen_names().begin(), seen_names().end());
    }
  }
  const std::string_view wanted(prefix);
  while (index < candidates.size()) {
    const std::string& candidate = candidates[index++];
    if (std::string_view(candidate).starts_with(wanted)) return strdup(candidate.c_str());
  }
  return nullptr;
}

char** complete(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;
  completing_command =
      std::string_view(rl_line_buffer, static_cast<std::size_t>(start)).find_first_not_of(' ') ==
      std::string_view::npos;
  return rl_completion_matches(text, next_completion);
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

std::string seconds_text(std::chrono::milliseconds delay) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << static_cast<double>(delay.count()) / 1000.0 << " s";
  return out.str();
}

}  // namespace

std::set<std::string>& seen_names() {
  static std::set<std::string> names;
  return names;
}

Repl::Repl(Connection& connection, ReplOptions options)
    : connection_(connection), options_(std::move(options)) {}

int Repl::run() {
  connection_.on_event([this](std::string_view event) { show_event(event); });
  connection_.on_notice([this](std::string_view reply) { show_notice(reply); });
  const bool script = !options_.commands.empty() || !isatty(STDIN_FILENO);
  interactive_ = !script;
  live_ = script ? options_.watch : true;
  try {
    if (interactive_) {
      std::cout << "Connected to " << options_.where
                << ". Type help for the commands, /quit to leave.\n"
                << std::flush;
    }
    if (options_.user) log_in_from_options();
    if (script) {
      const bool finished = !options_.commands.empty() ? run_commands() : run_stream(std::cin);
      if (finished && options_.watch_for.count() > 0) {
        connection_.pass_events_for(options_.watch_for);
      }
      return exit_code();
    }
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
  rl_readline_name = "realmchat";
  rl_attempted_completion_function = complete;
  // Names may hold '@' (jokowi@beta): only spaces end a word to complete.
  rl_completer_word_break_characters = const_cast<char*>(" ");
  editor_.emplace(connection_.io_context(), history_path());
  poll_timer_.emplace(connection_.io_context());

  bool more = true;
  while (more) {
    try {
      more = terminal_turn();
    } catch (const ConnectionError& error) {
      connection_lost(error);
      more = !gave_up_;
    }
  }
  poll_timer_.reset();
  editor_.reset();
}

bool Repl::terminal_turn() {
  const auto line = editor_->read_line(prompt(), [this] { after_each_handler(); });
  if (!line) return false;  // Ctrl-D
  const CommandLine command = split_command_line(*line);
  if (!command.empty() && !carries_password(command)) editor_->add_to_history(*line);
  try {
    return handle_line(*line) != Next::quit;
  } catch (const ConnectionError&) {
    // Whether the realm got it is unknown: the line waits to be sent again.
    editor_->keep_text(*line);
    print_line("(the line is kept: Enter sends it again)\n");
    throw;
  }
}

void Repl::after_each_handler() {
  if (!reconnect_on_next_line_) connection_.check_open();
  if (!poll_due_) return;
  poll_due_ = false;
  if (!polling_) return;  // a login since bound a session that is pushed to
  if (live_) {
    fetch_missed("");
  } else {
    own_request(session_line("realms"));  // only to stay active
  }
  arm_poll();
}

void Repl::arm_poll() {
  poll_timer_->expires_after(poll_interval);
  poll_timer_->async_wait([this](const std::error_code& error) { poll_due_ = !error; });
}

Repl::Next Repl::handle_line(std::string_view line) {
  const CommandLine command = split_command_line(line);
  if (command.empty()) return Next::read_more;  // the server would not answer it
  if (command.verb == "/quit" || command.verb == "/exit") return Next::quit;
  if (handle_local(command)) return Next::read_more;
  exchange(command);
  return Next::read_more;
}

bool Repl::handle_local(const CommandLine& command) {
  if (command.verb == "help" || command.verb == "/help") {
    if (command.params.empty()) {
      std::cout << help_text();
    } else {
      std::cout << usage_text(command.params[0]);
    }
    std::cout << std::flush;
    return true;
  }
  if (command.verb == "/quiet") {
    toggle_live_view();
    return true;
  }
  if (command.verb == "/history" && command.params.empty()) {
    next_history_page();
    return true;
  }
  if (command.is_local() && find_help(command.verb) == nullptr) {
    saw_error_ = true;
    // On stderr, in this form: scripts/demo.sh sends one after each command to mark where a
    // reply ends.
    std::cout << std::flush;
    std::cerr << "chatclient: unknown local command " << command.verb << " (try /help)\n";
    return true;
  }
  return false;
}

void Repl::exchange(const CommandLine& typed) {
  const Routed routed = route(typed, realm_.value_or(""));
  if (!routed.error.empty()) {
    saw_error_ = true;
    std::cout << "error: " << routed.error << "\n" << std::flush;
    return;
  }
  const CommandLine sent = split_command_line(routed.line);
  if (reconnect_on_next_line_) {
    reconnect_on_next_line_ = false;
    connection_.reconnect();
    print_line("reconnected to " + connection_.where() + "\n");
  }
  // Who the user writes to, as typed (jokowi@beta), for completion.
  if (!typed.params.empty() && (typed.verb == "send" || typed.verb == "/msg" ||
                                typed.verb == "sendgroup" || typed.verb == "/gmsg")) {
    seen_names().insert(typed.params[0]);
  }
  connection_.send_line(session_line(routed.line));
  const std::string reply = connection_.read_reply();
  const PrintedReply printed = print_reply(sent, reply, options_.print);
  std::cout << printed.text << std::flush;
  if (!printed.is_error) return learn_from(sent, reply);
  saw_error_ = true;
  const std::string message = error_message_of(reply).value_or("");
  if (message == protocol::text::no_session && !token_.empty() && !bound_) {
    std::cout << "Your session has ended: please log in again (auth USERNAME PASSWORD).\n";
    user_.reset();
    token_.clear();
    polling_ = false;
  } else if (const std::string hint = hint_for(typed, message); !hint.empty()) {
    std::cout << "  " << hint << "\n";
  }
  std::cout << std::flush;
}

void Repl::learn_from(const CommandLine& sent, const std::string& reply) {
  learn_names(reply);
  if (sent.verb == "watch" || sent.verb == "unwatch") {
    live_ = sent.verb == "watch";
  } else if (sent.verb == "logout" && sent.params.empty()) {
    user_.reset();
    realm_.reset();
    token_.clear();
    bound_ = false;
    polling_ = false;
  } else if (carries_password(sent) && !sent.params.empty()) {
    logged_in(sent.params.front(), token_of_reply(reply));
  } else if (sent.verb == "history" && !sent.params.empty()) {
    const std::size_t fixed = sent.params[0] == "realm" ? 3 : 2;
    if (sent.params.size() < fixed) return;
    HistoryPage page;
    page.request = "history";
    for (std::size_t i = 0; i < fixed; ++i) page.request += " " + sent.params[i];
    page.limit = sent.params.size() > fixed ? sent.params[fixed] : "50";
    const HistoryPageInfo info = history_page_info(reply);
    page.oldest_id = info.oldest_id;
    page.more = info.more;
    last_history_ = std::move(page);
  }
}

void Repl::logged_in(const std::string& user, const std::string& token) {
  user_ = user;
  token_ = token;
  bound_ = true;
  polling_ = false;
  realm_.reset();
  // Scripts get exactly one printed reply per line they send; the requests below are the
  // client's own. The prompt and pushed messages need the realm (senders from elsewhere
  // show theirs), and a new login is not watched yet.
  if (!interactive_ && !live_) return;
  realm_ = realm_of_info_reply(own_request("info " + user));
  if (live_) {
    const std::string reply = own_request("watch");
    if (const auto error = error_message_of(reply)) {
      saw_error_ = true;
      std::cout << "watch: " << print_reply(split_command_line("watch"), reply, options_.print).text
                << std::flush;
    }
  }
  if (interactive_) show_conversations();
}

void Repl::log_in_from_options() {
  const std::string line = "auth " + *options_.user + " " + options_.password;
  const std::string reply = own_request(line);
  const CommandLine command = split_command_line(line);
  const PrintedReply printed = print_reply(command, reply, options_.print);
  std::cout << printed.text << std::flush;
  if (printed.is_error) {
    saw_error_ = true;
    return;
  }
  learn_from(command, reply);
}

void Repl::show_conversations() {
  const std::string reply = own_request(session_line("conversations"));
  // A realm without history (an older realmd) answers an unknown command: nothing to show.
  if (error_message_of(reply)) return;
  learn_names(reply);
  print_line(print_reply(split_command_line("conversations"), reply, options_.print).text);
}

void Repl::next_history_page() {
  if (!last_history_) {
    std::cout << "no history shown yet: /history NAME[@REALM] or /history #GROUP\n" << std::flush;
    return;
  }
  if (!last_history_->more || !last_history_->oldest_id) {
    std::cout << "(no older messages)\n" << std::flush;
    return;
  }
  const std::string line = last_history_->request + " " + last_history_->limit + " " +
                           std::to_string(*last_history_->oldest_id);
  exchange(split_command_line(line));
}

void Repl::toggle_live_view() {
  live_ = !live_;
  std::cout << (live_ ? "live view on: new messages show as they arrive\n"
                      : "live view off: new messages wait for inbox / getrealminbox\n")
            << std::flush;
  if (user_ && bound_) {
    const std::string line = live_ ? "watch" : "unwatch";
    const std::string reply = own_request(line);
    if (error_message_of(reply)) {
      saw_error_ = true;
      std::cout << line << ": " << print_reply(split_command_line(line), reply, options_.print).text
                << std::flush;
    }
  }
}

std::string Repl::own_request(const std::string& line) {
  connection_.send_line(line);
  return connection_.read_reply();
}

std::string Repl::session_line(const std::string& line) {
  if (token_.empty() || bound_) return line;
  const CommandLine command = split_command_line(line);
  if (!needs_session(command.verb)) return line;
  if (!command.params.empty() && protocol::looks_like_token(command.params[0])) return line;
  return with_token(command, token_);
}

void Repl::connection_lost(const ConnectionError& error) {
  print_line("connection lost: " + std::string(error.what()) + "\n");
  connection_.close();
  if (token_.empty()) {
    // No session to resume and nothing to receive: dial again when a command needs it.
    reconnect_on_next_line_ = true;
    print_line("(not connected: the next command connects again)\n");
    return;
  }
  if (!reconnect_and_resume()) {
    print_line("gave up reconnecting\n");
    gave_up_ = true;
  }
}

bool Repl::reconnect_and_resume() {
  federation::Backoff backoff({}, first_redial_ceiling, redial_cap);
  for (int attempt = 1;; ++attempt) {
    const std::chrono::milliseconds delay = backoff.next();
    print_line("reconnecting to " + connection_.where() + " in " + seconds_text(delay) +
               " (attempt " + std::to_string(attempt) + "; Ctrl-C quits)\n");
    if (!editor_->pause_for(delay)) return false;
    try {
      connection_.reconnect();
      print_line("reconnected to " + connection_.where() + "\n");
      resume_session();
      return true;
    } catch (const ConnectionError& failure) {
      // Refused, or lost again while resuming: the next attempt starts over.
      print_line(std::string(failure.what()) + "\n");
      connection_.close();
    }
  }
}

void Repl::resume_session() {
  bound_ = false;
  polling_ = false;
  const std::string reply = own_request("info " + token_ + " " + user_.value_or(""));
  if (const auto error = error_message_of(reply)) {
    if (*error == protocol::text::no_session) {
      print_line("The realm no longer knows your session: please log in again (auth " +
                 user_.value_or("USERNAME") + " PASSWORD).\n");
      user_.reset();
      token_.clear();
      polling_ = false;
    } else {
      print_line("resuming the session: error: " + *error + "\n");
    }
    return;
  }
  if (auto realm = realm_of_info_reply(reply)) realm_ = std::move(realm);
  print_line("session of " + *user_ + " resumed\n");
  // A realm that binds the session to this connection on `watch TOKEN` pushes again;
  // otherwise the inboxes are polled (and, in quiet mode, the connection kept from the realm's
  // limit on connections without a session of their own).
  polling_ = !live_ || error_message_of(own_request("watch " + token_)).has_value();
  if (polling_) {
    if (live_) {
      print_line("live view: checking for new messages every " +
                 std::to_string(poll_interval.count()) + " s\n");
    }
    arm_poll();
  }
  fetch_missed("while you were away:\n");
}

void Repl::fetch_missed(std::string_view heading) {
  std::string missed =
      inbox_as_event_lines(own_request(session_line("inbox")), home_realm(), options_.print);
  for (const std::string& realm : reachable_realms_of(own_request(session_line("realms")))) {
    const std::string reply = own_request(session_line("getrealminbox " + realm));
    learn_names(reply);
    missed += inbox_as_event_lines(reply, home_realm(), options_.print);
  }
  if (!missed.empty()) print_line(std::string(heading) + missed);
}

void Repl::show_event(std::string_view event_json) {
  learn_names(event_json);
  const std::string text = print_event(event_json, home_realm(), options_.print);
  if (!text.empty()) print_line(text);
}

void Repl::show_notice(std::string_view reply_json) {
  print_line(print_notice(reply_json, options_.print));
}

void Repl::print_line(const std::string& text) {
  if (editor_) {
    editor_->print_above(text);
  } else {
    std::cout << text << std::flush;
  }
}

void Repl::learn_names(std::string_view json) {
  for (std::string& name : names_in_reply(json, home_realm())) seen_names().insert(std::move(name));
}

std::string Repl::prompt() const {
  if (!user_) return "realmchat> ";
  return *user_ + (realm_ ? "@" + *realm_ : "") + "> ";
}

std::optional<std::string_view> Repl::home_realm() const {
  return realm_ ? std::optional<std::string_view>(*realm_) : std::nullopt;
}

int Repl::exit_code() const {
  if (gave_up_) return exit_connection_failed;
  return options_.fail_on_error && saw_error_ ? exit_had_errors : exit_ok;
}

}  // namespace chat::client
