// What chatclient does with the bytes a realm (or anything posing as one) sends: FrameSplitter
// cuts them into frames, kind_of_frame tells replies from pushed events, and print_reply /
// print_event / realm_of_info_reply turn them into terminal text. Input: the first line is the
// command the user typed (it picks the reply's layout); the rest is the server's byte stream.
// Checked: the splitter cuts exactly the frames a plain reference splitter cuts, whatever the
// read sizes; printed text carries no control byte but '\n' (a server cannot move the cursor
// or recolor the terminal: only the printer's own colors, and removing them gives the plain
// text); every reply prints whole lines, an event at most one; --json prints the frame as sent.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chatclient/command_line.hpp"
#include "chatclient/frame_splitter.hpp"
#include "chatclient/reply_printer.hpp"
#include "fuzz_checks.hpp"

namespace {

namespace client = chat::client;

// Small, so that the overflow is reached.
constexpr std::size_t max_frame_bytes = 512;
// Reads arrive in pieces of these sizes, in turn (a terminator split at every place).
constexpr std::array<std::size_t, 6> read_sizes = {1, 3, 2, 700, 1, 64};

// The frames before each terminator, in order.
std::vector<std::string_view> reference_frames(std::string_view stream) {
  std::vector<std::string_view> frames;
  for (std::size_t end; (end = stream.find(client::frame_terminator)) != std::string_view::npos;) {
    frames.push_back(stream.substr(0, end));
    stream.remove_prefix(end + client::frame_terminator.size());
  }
  return frames;
}

// The printer's own colors (reply_printer.cpp), removed.
std::string without_colors(std::string text) {
  for (const std::string_view code : {"\x1b[31m", "\x1b[33m", "\x1b[0m"}) {
    for (std::size_t at; (at = text.find(code)) != std::string::npos;) text.erase(at, code.size());
  }
  return text;
}

// No C0 byte but '\n', no DEL, no C1 control as UTF-8 (0xc2 0x80..0x9f).
void check_terminal_safe(std::string_view what, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const bool c1 = byte == 0xc2 && i + 1 < text.size() &&
                    static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9f;
    if ((byte < 0x20 && byte != '\n') || byte == 0x7f || c1) {
      fuzz::fail(std::string(what) + " prints a control character", text);
    }
  }
}

void check_reply(const client::CommandLine& command, const std::string& frame) {
  const client::PrintedReply plain = client::print_reply(command, frame, {});
  check_terminal_safe("print_reply", plain.text);
  if (plain.text.empty() || !plain.text.ends_with('\n')) {
    fuzz::fail("print_reply without whole lines", plain.text);
  }
  const client::PrintedReply colored = client::print_reply(command, frame, {.color = true});
  if (without_colors(colored.text) != plain.text || colored.is_error != plain.is_error) {
    fuzz::fail("print_reply in color says something else than without", colored.text);
  }
  const client::PrintedReply json = client::print_reply(command, frame, {.json = true});
  if (json.text != frame + "\n") fuzz::fail("print_reply --json changed the frame", json.text);
  if (const auto realm = client::realm_of_info_reply(frame)) {
    check_terminal_safe("realm_of_info_reply", *realm);
  }
}

void check_event(const std::string& frame) {
  for (const std::optional<std::string_view> home :
       {std::optional<std::string_view>("alpha"), std::optional<std::string_view>()}) {
    const std::string plain = client::print_event(frame, home, {});
    check_terminal_safe("print_event", plain);
    if (!plain.empty() &&
        (!plain.ends_with('\n') || std::count(plain.begin(), plain.end(), '\n') != 1)) {
      fuzz::fail("print_event is not one line", plain);
    }
    const std::string colored = client::print_event(frame, home, {.color = true});
    if (without_colors(colored) != plain) {
      fuzz::fail("print_event in color says something else than without", colored);
    }
  }
  if (client::print_event(frame, "alpha", {.json = true}) != frame + "\n") {
    fuzz::fail("print_event --json changed the frame", frame);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view typed = input.substr(0, newline);
  const std::string_view stream =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  const client::CommandLine command = client::split_command_line(typed);
  const std::vector<std::string_view> expected = reference_frames(stream);

  client::FrameSplitter splitter(max_frame_bytes);
  std::size_t offset = 0;
  std::size_t reads = 0;
  std::size_t frames = 0;
  while (offset < stream.size()) {
    const std::size_t n = std::min(read_sizes[reads++ % read_sizes.size()], stream.size() - offset);
    splitter.append(stream.substr(offset, n));
    offset += n;
    while (const std::optional<std::string> frame = splitter.next_frame()) {
      if (frames >= expected.size() || *frame != expected[frames]) {
        fuzz::fail("the splitter cut a frame the reference did not", *frame);
      }
      ++frames;
      if (client::kind_of_frame(*frame) == client::FrameKind::event) {
        check_event(*frame);
      } else {
        check_reply(command, *frame);
      }
    }
    if (splitter.overflowed()) return 0;  // chatclient closes the connection here
  }
  if (frames != expected.size()) fuzz::fail("the splitter held back a whole frame", stream);
  return 0;
}
