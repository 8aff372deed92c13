#include "protocol/line_framer.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

namespace {

using chat::protocol::LineFramer;
using Status = LineFramer::Status;

// Drains every complete line; `last` receives the status that stopped the drain.
std::vector<std::string> drain(LineFramer& framer, Status& last) {
  std::vector<std::string> lines;
  std::string line;
  while ((last = framer.next(line)) == Status::line) lines.push_back(line);
  return lines;
}

void append(std::vector<std::string>& to, const std::vector<std::string>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

TEST_CASE("framer: LF and CRLF lines, empty lines, a partial tail") {
  LineFramer framer(64);
  framer.feed("auth a b\r\nsend x  hi \n\n\r\ninbox\rx\npartial");
  Status last{};
  const std::vector<std::string> lines = drain(framer, last);
  CHECK(last == Status::need_more);
  // Only a '\r' right before '\n' is dropped.
  CHECK(lines == std::vector<std::string>{"auth a b", "send x  hi ", "", "", "inbox\rx"});
  CHECK(framer.pending_bytes() == std::string_view("partial").size());

  framer.feed("\r");
  std::string line;
  CHECK(framer.next(line) == Status::need_more);
  framer.feed("\nnext\n");
  CHECK(framer.next(line) == Status::line);
  CHECK(line == "partial");
  CHECK(framer.next(line) == Status::line);
  CHECK(line == "next");
  CHECK(framer.next(line) == Status::need_more);
  CHECK(framer.pending_bytes() == 0);
}

// A session's worth of input: CRLF and LF, empty lines, inner spacing, UTF-8, a partial tail.
const std::string session_text =
    "register messi pw Lionel_Messi Argentina\r\n\nsend henderson  hello  there\t \n"
    "INBOX\r\n\r\nsendgroup g \xC3\xA9t\xC3\xA9\ntail";
const std::vector<std::string> session_lines = {"register messi pw Lionel_Messi Argentina",
                                                "",
                                                "send henderson  hello  there\t ",
                                                "INBOX",
                                                "",
                                                "sendgroup g \xC3\xA9t\xC3\xA9"};

TEST_CASE("framer: the same lines whatever the split point") {
  const std::string_view input = session_text;
  for (std::size_t split = 0; split <= input.size(); ++split) {
    CAPTURE(split);
    LineFramer framer(64);
    Status last{};
    std::vector<std::string> lines;
    framer.feed(input.substr(0, split));
    append(lines, drain(framer, last));
    CHECK(last == Status::need_more);
    framer.feed(input.substr(split));
    append(lines, drain(framer, last));
    CHECK(last == Status::need_more);
    CHECK(lines == session_lines);
    CHECK(framer.pending_bytes() == 4);  // "tail"
  }
}

TEST_CASE("framer: the same lines fed byte by byte") {
  LineFramer framer(64);
  Status last{};
  std::vector<std::string> lines;
  for (char c : session_text) {
    framer.feed(std::string_view(&c, 1));
    append(lines, drain(framer, last));
    CHECK(last == Status::need_more);
  }
  CHECK(lines == session_lines);
  CHECK(framer.pending_bytes() == 4);
}

TEST_CASE("framer: a line of exactly the limit passes, one byte more is too long") {
  constexpr std::size_t limit = 16;
  const std::string at_limit(limit, 'a');
  std::string line;

  SUBCASE("LF") {
    LineFramer framer(limit);
    framer.feed(at_limit + "\n");
    CHECK(framer.next(line) == Status::line);
    CHECK(line == at_limit);
  }
  SUBCASE("CRLF: the terminator does not count") {
    LineFramer framer(limit);
    framer.feed(at_limit + "\r");
    CHECK(framer.next(line) == Status::need_more);
    framer.feed("\n");
    CHECK(framer.next(line) == Status::line);
    CHECK(line == at_limit);
  }
  SUBCASE("limit + 1, complete") {
    LineFramer framer(limit);
    framer.feed("ok\n" + at_limit + "b\r\n");
    CHECK(framer.next(line) == Status::line);
    CHECK(line == "ok");
    CHECK(framer.next(line) == Status::too_long);
  }
  SUBCASE("limit + 1 with a '\\r' inside is too long too") {
    LineFramer framer(limit);
    framer.feed(at_limit + "\rb\n");
    CHECK(framer.next(line) == Status::too_long);
  }
}

TEST_CASE("framer: an unterminated line is too long as soon as it passes the limit") {
  constexpr std::size_t limit = 16;
  LineFramer framer(limit);
  std::string line;
  framer.feed(std::string(limit, 'a'));
  CHECK(framer.next(line) == Status::need_more);
  framer.feed("b");
  CHECK(framer.next(line) == Status::too_long);

  SUBCASE("and stays too long, keeping nothing") {
    framer.feed("\nauth a b\n");
    CHECK(framer.next(line) == Status::too_long);
    CHECK(framer.next(line) == Status::too_long);
    CHECK(framer.pending_bytes() == 0);
  }
}

TEST_CASE("framer: a long run of short lines keeps the buffer compact") {
  LineFramer framer(64);
  std::string line;
  for (int i = 0; i < 10000; ++i) {
    framer.feed("ping\nhalf");
    CHECK(framer.next(line) == Status::line);
    CHECK(line == (i == 0 ? "ping" : "halfping"));
    CHECK(framer.next(line) == Status::need_more);
    CHECK(framer.pending_bytes() == 4);
  }
}

TEST_CASE("framer: a long line, once returned, leaves no large buffer; later lines still parse") {
  LineFramer framer(64 * 1024);
  const std::string long_line(20000, 'x');
  // Half a long line is kept whole (the buffer is freed only when it holds no partial line).
  framer.feed(long_line.substr(0, 10000));
  Status last{};
  CHECK(drain(framer, last).empty());
  CHECK(last == Status::need_more);
  framer.feed(long_line.substr(10000) + "\n");
  CHECK(drain(framer, last) == std::vector<std::string>{long_line});
  CHECK(last == Status::need_more);
  CHECK(framer.buffer_capacity() <= LineFramer::kept_capacity);
  // A request split across many reads after the release.
  std::vector<std::string> lines;
  for (const char c : std::string("send b hello\r\ninbox\n")) {
    framer.feed(std::string_view(&c, 1));
    append(lines, drain(framer, last));
  }
  CHECK(lines == std::vector<std::string>{"send b hello", "inbox"});
  CHECK(framer.pending_bytes() == 0);
}
