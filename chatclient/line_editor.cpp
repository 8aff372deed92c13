#include "chatclient/line_editor.hpp"

// readline's headers need FILE declared first.
#include <cstdio>
// clang-format off
#include <readline/readline.h>
#include <readline/history.h>
// clang-format on
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <iostream>

namespace chat::client {
namespace {

constexpr int history_lines = 1000;

LineEditor* active_editor = nullptr;  // readline's line callback has no user data

}  // namespace

LineEditor::LineEditor(asio::io_context& io, std::string history_file)
    : io_(io),
      history_file_(std::move(history_file)),
      stdin_(io, STDIN_FILENO),
      signals_(io, SIGINT, SIGTERM, SIGHUP) {
  signals_.add(SIGWINCH);
  // Asio owns the signals: readline would otherwise install its handlers around each key.
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  active_editor = this;
  using_history();
  stifle_history(history_lines);
  // write_history creates the file (mode 0600) so that append_history can add to it.
  if (!history_file_.empty() && read_history(history_file_.c_str()) == ENOENT) {
    write_history(history_file_.c_str());
  }
  wait_for_signal();
}

LineEditor::~LineEditor() {
  if (reading_) rl_callback_handler_remove();
  stdin_.release();  // fd 0 is not ours to close
  if (!history_file_.empty()) history_truncate_file(history_file_.c_str(), history_lines);
  active_editor = nullptr;
}

void LineEditor::on_line(char* line) {
  LineEditor& editor = *active_editor;
  // Removing the handler here keeps readline from drawing the next prompt before the reply.
  rl_callback_handler_remove();
  editor.reading_ = false;
  if (line == nullptr) {
    editor.entered_.emplace(std::nullopt);  // Ctrl-D (readline has already moved to a new line)
  } else {
    editor.entered_.emplace(line);
    std::free(line);
  }
}

void LineEditor::wait_for_key() {
  if (key_wait_armed_) return;
  key_wait_armed_ = true;
  stdin_.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this](const std::error_code& error) {
                      key_wait_armed_ = false;
                      if (error || !reading_)
                        return;  // a key typed while a reply is awaited waits for read_line
                      rl_callback_read_char();
                      if (reading_) wait_for_key();
                    });
}

void LineEditor::wait_for_signal() {
  signals_.async_wait([this](const std::error_code& error, int signal) {
    if (error) return;
    if (signal == SIGWINCH) {
      rl_resize_terminal();
    } else if (signal == SIGINT) {
      // Like a shell: Ctrl-C drops the line being typed and shows a fresh prompt.
      if (reading_) {
        rl_callback_sigcleanup();
        rl_point = rl_end;  // "^C" after the whole line, not over its tail
        rl_redisplay();
        rl_echo_signal_char(SIGINT);
        rl_replace_line("", 0);
        rl_crlf();
        rl_on_new_line();
        rl_redisplay();
      } else {
        interrupted_ = true;
      }
    } else {
      end_of_input_ = true;
      if (reading_) {
        rl_callback_handler_remove();
        reading_ = false;
        std::cout << "\n";
      }
    }
    wait_for_signal();
  });
}

std::optional<std::string> LineEditor::read_line(const std::string& prompt,
                                                 const std::function<void()>& after_each) {
  if (end_of_input_) return std::nullopt;
  entered_.reset();
  rl_callback_handler_install(prompt.c_str(), on_line);
  reading_ = true;
  if (!kept_.empty()) {
    rl_insert_text(kept_.c_str());
    kept_.clear();
    rl_redisplay();
  }
  try {
    while (!entered_ && !end_of_input_) {
      wait_for_key();
      if (io_.stopped()) io_.restart();
      io_.run_one();
      after_each();
    }
  } catch (...) {
    if (reading_) {
      kept_.assign(rl_line_buffer, static_cast<std::size_t>(rl_end));
      rl_callback_handler_remove();
      reading_ = false;
      std::cout << "\n" << std::flush;
    }
    throw;
  }
  if (!entered_) return std::nullopt;
  return std::move(*entered_);
}

bool LineEditor::pause_for(std::chrono::steady_clock::duration duration) {
  interrupted_ = false;
  const auto until = std::chrono::steady_clock::now() + duration;
  while (!interrupted_ && !end_of_input_ && std::chrono::steady_clock::now() < until) {
    if (io_.stopped()) io_.restart();
    io_.run_one_until(until);
  }
  return !interrupted_ && !end_of_input_;
}

void LineEditor::print_above(std::string_view text) {
  if (!reading_) {
    std::cout << text << std::flush;
    return;
  }
  rl_clear_visible_line();
  std::cout << text << std::flush;
  rl_forced_update_display();
}

void LineEditor::add_to_history(const std::string& line) {
  const HIST_ENTRY* last =
      history_length > 0 ? history_get(history_base + history_length - 1) : nullptr;
  if (last != nullptr && line == last->line) return;
  add_history(line.c_str());
  if (!history_file_.empty()) append_history(1, history_file_.c_str());
}

}  // namespace chat::client
