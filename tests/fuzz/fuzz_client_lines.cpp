// Client bytes end to end through the pure code: LineFramer -> Realm::handle (is_valid_utf8,
// the command parser, every command, inbox reservations, sessions, rate limits) on a realm with a
// seeded world. Checked: the framer cuts exactly the lines a plain reference splitter cuts,
// is_valid_utf8 agrees with a reference UTF-8 decoder, and everything fuzz::RealmDriver checks
// (every reply compact JSON, one reply per request line, ...).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_checks.hpp"
#include "protocol/command_parser.hpp"
#include "protocol/line_framer.hpp"
#include "realm_driver.hpp"

namespace {

// Small, so that over-long lines (and the early report of an over-long partial) are reached.
constexpr std::size_t max_line_bytes = 256;

// What the framer must produce from the whole input: the lines before the first over-long one,
// then too_long, or else the bytes left pending.
struct ReferenceFraming {
  std::vector<std::string_view> lines;
  bool too_long = false;
  std::size_t pending = 0;

  explicit ReferenceFraming(std::string_view input) {
    std::size_t pos = 0;
    while (true) {
      const std::size_t newline = input.find('\n', pos);
      if (newline == std::string_view::npos) {
        const std::string_view rest = input.substr(pos);
        // A trailing '\r' may still become part of "\r\n".
        const std::size_t length = rest.size() - (rest.ends_with('\r') ? 1 : 0);
        too_long = length > max_line_bytes;
        pending = too_long ? 0 : rest.size();
        return;
      }
      std::string_view line = input.substr(pos, newline - pos);
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.size() > max_line_bytes) {
        too_long = true;
        return;
      }
      lines.push_back(line);
      pos = newline + 1;
    }
  }
};

// RFC 3629 UTF-8, decoded by hand, with NUL refused as is_valid_utf8 documents.
bool reference_utf8(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
    const unsigned char lead = byte(i);
    if (lead == 0) return false;
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > bytes.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((byte(i + k) & 0xc0) != 0x80) return false;
      code = (code << 6) | (byte(i + k) & 0x3f);
    }
    constexpr std::array<std::uint32_t, 5> smallest = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code > 0x10ffff) return false;  // overlong or too big
    if (code >= 0xd800 && code <= 0xdfff) return false;            // surrogate
    i += length;
  }
  return true;
}

// Reads arrive in pieces of these sizes, in turn, so lines are split across feeds at every
// kind of place (inside a line, between '\r' and '\n', many lines at once).
constexpr std::array<std::size_t, 8> read_sizes = {1, 5, 2, 64, 1, 300, 3, 4096};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const ReferenceFraming expected(input);

  fuzz::RealmDriver driver;
  driver.seed_world();
  chat::protocol::LineFramer framer(max_line_bytes);

  std::size_t offset = 0;
  std::size_t reads = 0;
  std::size_t lines = 0;
  std::string line;
  while (offset < input.size()) {
    const std::size_t n = std::min(read_sizes[reads++ % read_sizes.size()], input.size() - offset);
    framer.feed(input.substr(offset, n));
    offset += n;
    while (true) {
      const auto status = framer.next(line);
      if (status == chat::protocol::LineFramer::Status::need_more) break;
      if (status == chat::protocol::LineFramer::Status::too_long) {
        if (!expected.too_long || lines != expected.lines.size()) {
          fuzz::fail("the framer reported too_long where the reference did not", line);
        }
        driver.line_too_long();
        driver.expire_waits();
        return 0;  // the connection is closed: the rest of the input is never read
      }
      if (lines >= expected.lines.size() || line != expected.lines[lines]) {
        fuzz::fail("the framer cut a line the reference did not", line);
      }
      ++lines;
      if (chat::protocol::is_valid_utf8(line) != reference_utf8(line)) {
        fuzz::fail("is_valid_utf8 disagrees with the reference decoder", line);
      }
      driver.client_line(line);
      driver.expire_waits();  // no peer is ever up here: every wait ends by its timer
    }
  }
  if (expected.too_long || lines != expected.lines.size() ||
      framer.pending_bytes() != expected.pending) {
    fuzz::fail("the framer ended in another state than the reference", input);
  }
  return 0;
}
