#pragma once
#include <asio.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace chat::client {

// The terminal's input line: readline's alternate (callback) interface driven by an Asio
// io_context that also serves the connection, so text can be printed above the line being
// typed (pushed messages) without disturbing it. stdin is only read inside read_line(): keys
// typed while a request waits for its reply stay in the terminal until the next prompt.
// One LineEditor at a time (readline's callbacks carry no context).
class LineEditor {
 public:
  // `history_file` ("" for none) is read now and appended to by add_to_history().
  LineEditor(asio::io_context& io, std::string history_file);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // Shows `prompt` and runs the io_context until a line is entered; nullopt at end of input
  // (Ctrl-D on an empty line, SIGTERM, SIGHUP). `after_each` runs after every other handler
  // (a pushed event, ...); whatever it throws ends the line, with the terminal restored and
  // the text typed so far kept: the next read_line starts with it (a reconnect loses nothing).
  std::optional<std::string> read_line(const std::string& prompt,
                                       const std::function<void()>& after_each);
  // Writes `text` (whole lines) above the prompt and redraws the line being typed; with no
  // line being read it is simply written.
  void print_above(std::string_view text);
  void add_to_history(const std::string& line);
  // The next read_line starts with `text` already typed (a line whose request was lost).
  void keep_text(std::string text) { kept_ = std::move(text); }
  // Runs the io_context for `duration` without reading keys (they wait in the terminal);
  // false when Ctrl-C, SIGTERM or SIGHUP came meanwhile.
  bool pause_for(std::chrono::steady_clock::duration duration);

 private:
  static void on_line(char* line);
  void wait_for_key();
  void wait_for_signal();

  asio::io_context& io_;
  std::string history_file_;
  asio::posix::stream_descriptor stdin_;
  asio::signal_set signals_;
  bool reading_ = false;  // inside read_line, with readline's handler installed
  bool key_wait_armed_ = false;
  bool end_of_input_ = false;                          // SIGTERM or SIGHUP arrived
  bool interrupted_ = false;                           // Ctrl-C while no line was read
  std::string kept_;                                   // typed, not entered yet
  std::optional<std::optional<std::string>> entered_;  // set by on_line: a line, or EOF
};

}  // namespace chat::client
