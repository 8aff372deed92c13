#pragma once
#include <chrono>
#include <istream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chatclient/command_line.hpp"
#include "chatclient/connection.hpp"
#include "chatclient/line_editor.hpp"
#include "chatclient/reply_printer.hpp"

namespace chat::client {

struct ReplOptions {
  std::string where;  // HOST:PORT, for the messages about (re)connecting
  PrintOptions print;
  bool fail_on_error = false;         // exit 3 when any reply was an ERROR
  std::vector<std::string> commands;  // -c: run these, then exit (stdin is not read)
  // -c and stdin scripts send `watch` after a login too and print pushed messages (the
  // terminal always does, until /quiet).
  bool watch = false;
  // After a script's commands, print pushed messages this long before exiting.
  std::chrono::seconds watch_for{0};
  // --user: log in as this user with `password` before anything else.
  std::optional<std::string> user;
  std::string password;
};

// Exit codes of chatclient.
inline constexpr int exit_ok = 0;
inline constexpr int exit_connection_failed = 1;  // cannot connect, or the server closed
inline constexpr int exit_had_errors = 3;         // --fail-on-error and an ERROR reply

// The read-eval-print loop: lines come from -c, from readline (stdin is a terminal) or from
// stdin as a stream (scripts: no prompt, no history). One request in flight at a time, one
// reply, in order; pushed messages are printed whenever they arrive (in the terminal above the
// line being typed). In the terminal a lost connection is dialled again with capped, jittered
// backoff and the session resumed with its token (docs/architecture.md, "chatclient");
// scripts end with exit 1 instead.
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
  // One line of the terminal; false to leave.
  bool terminal_turn();
  Next handle_line(std::string_view line);
  bool handle_local(const CommandLine& command);
  // Sends what the user typed (routed, in token mode when resumed) and prints the reply.
  void exchange(const CommandLine& typed);
  // What an OK reply changes here: the session (auth, register, logout), the live view, the
  // paging of /history.
  void learn_from(const CommandLine& sent, const std::string& reply);
  void logged_in(const std::string& user, const std::string& token);
  void log_in_from_options();
  // /quiet
  void toggle_live_view();
  // A request of the client's own: its reply (errors are not printed here).
  std::string own_request(const std::string& line);
  // A session command in token mode when the connection has no session of its own.
  std::string session_line(const std::string& line);
  void show_conversations();
  void next_history_page();

  // --- reconnecting ---
  void connection_lost(const ConnectionError& error);
  // Dials again and resumes the session until that works (true) or the user gives up with
  // Ctrl-C (false).
  bool reconnect_and_resume();
  // After a reconnect: the token still live? then live view (or polling) and what arrived.
  void resume_session();
  void fetch_missed(std::string_view heading);
  void after_each_handler();
  void arm_poll();

  void show_event(std::string_view event_json);
  void show_notice(std::string_view reply_json);
  void print_line(const std::string& text);
  void learn_names(std::string_view json);
  std::string prompt() const;
  std::optional<std::string_view> home_realm() const;
  int exit_code() const;

  Connection& connection_;
  ReplOptions options_;
  bool interactive_ = false;
  bool saw_error_ = false;
  bool live_ = false;                 // pushed messages wanted (sends watch after each login)
  std::optional<LineEditor> editor_;  // the terminal's, while run_terminal runs
  std::optional<std::string> user_;
  std::optional<std::string> realm_;
  std::string token_;     // the session's, kept to resume it after a reconnect
  bool bound_ = false;    // the session is this connection's own (auth/register on it)
  bool polling_ = false;  // resumed without live delivery: inboxes are polled
  bool poll_due_ = false;
  bool gave_up_ = false;                 // Ctrl-C while reconnecting
  bool reconnect_on_next_line_ = false;  // closed idle with no session: dial when needed
  std::optional<asio::steady_timer> poll_timer_;
  struct HistoryPage {
    std::string request;  // "history user messi" (no LIMIT / BEFORE)
    std::string limit;
    std::optional<std::uint64_t> oldest_id;
    bool more = false;
  };
  std::optional<HistoryPage> last_history_;
};

// Names seen (senders, groups, conversations): what Tab completes after the command word.
std::set<std::string>& seen_names();

}  // namespace chat::client
