#pragma once
#include <chrono>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chatclient/command_line.hpp"
#include "chatclient/connection.hpp"
#include "chatclient/line_editor.hpp"
#include "chatclient/reply_printer.hpp"

namespace chat::client {

struct ReplOptions {
  std::string prompt_before_login = "realmchat> ";
  PrintOptions print;
  bool fail_on_error = false;         // exit 3 when any reply was an ERROR
  std::vector<std::string> commands;  // -c: run these, then exit (stdin is not read)
  // -c and stdin scripts send `watch` after a login too and print pushed messages (the
  // terminal always does, until /quiet).
  bool watch = false;
  // After a script's commands, print pushed messages this long before exiting.
  std::chrono::seconds watch_for{0};
};

// Exit codes of chatclient.
inline constexpr int exit_ok = 0;
inline constexpr int exit_connection_failed = 1;  // cannot connect, or the server closed
inline constexpr int exit_had_errors = 3;         // --fail-on-error and an ERROR reply

// The read-eval-print loop: lines come from -c, from readline (stdin is a terminal) or from
// stdin as a stream (scripts: no prompt, no history). One request in flight at a time, one
// reply, in order; pushed messages are printed whenever they arrive (in the terminal above the
// line being typed).
class Repl {
 public:
  Repl(Connection& connection, ReplOptions options);

  int run();

 private:
  enum class Next { read_more, quit };

  // The script runners return false when /quit ended them.
  bool run_commands();
  bool run_stream(std::istream& in);
  void run_terminal();
  Next handle_line(std::string_view line);
  void exchange(const CommandLine& command, std::string_view line);
  // What an OK reply changes here: after a login the prompt shows user@realm (the realm comes
  // from `info <self>`) and the live view is turned on for the new session.
  void learn_from(const CommandLine& command);
  // /quiet
  void toggle_live_view();
  // A request of the client's own (its reply printed only when it is an error).
  void send_own_request(std::string_view line);
  void show_event(std::string_view event_json);
  std::string prompt() const;
  int exit_code() const;

  Connection& connection_;
  ReplOptions options_;
  bool interactive_ = false;
  bool saw_error_ = false;
  bool live_ = false;                 // pushed messages wanted (sends watch after each login)
  std::optional<LineEditor> editor_;  // the terminal's, while run_terminal runs
  std::optional<std::string> user_;
  std::optional<std::string> realm_;
};

}  // namespace chat::client
