#pragma once
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chatclient/command_line.hpp"
#include "chatclient/connection.hpp"
#include "chatclient/reply_printer.hpp"

namespace chat::client {

struct ReplOptions {
  std::string prompt_before_login = "realmchat> ";
  PrintOptions print;
  bool fail_on_error = false;         // exit 3 when any reply was an ERROR
  std::vector<std::string> commands;  // -c: run these, then exit (stdin is not read)
};

// Exit codes of chatclient.
inline constexpr int exit_ok = 0;
inline constexpr int exit_connection_failed = 1;  // cannot connect, or the server closed
inline constexpr int exit_had_errors = 3;         // --fail-on-error and an ERROR reply

// The read-eval-print loop: lines come from -c, from readline (stdin is a terminal) or from
// stdin as a stream (scripts: no prompt, no history). One request, one reply, in order.
class Repl {
 public:
  Repl(Connection& connection, ReplOptions options);

  int run();

 private:
  enum class Next { read_more, quit };

  int run_commands();
  int run_terminal();
  int run_stream(std::istream& in);
  Next handle_line(std::string_view line);
  void exchange(const CommandLine& command, std::string_view line);
  // After a login the prompt shows user@realm; the realm comes from `info <self>`.
  void learn_login(const CommandLine& command);
  std::string prompt() const;
  int exit_code() const;

  Connection& connection_;
  ReplOptions options_;
  bool interactive_ = false;
  bool saw_error_ = false;
  std::optional<std::string> user_;
  std::optional<std::string> realm_;
};

}  // namespace chat::client
