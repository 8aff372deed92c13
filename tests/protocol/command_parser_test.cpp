#include "protocol/command_parser.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

namespace {

using chat::protocol::is_valid_utf8;
using chat::protocol::looks_like_token;
using chat::protocol::parse_line;
using chat::protocol::ParsedLine;

std::vector<std::string_view> words(const ParsedLine& parsed) {
  std::vector<std::string_view> out;
  for (const ParsedLine::Word& w : parsed.params) out.push_back(w.text);
  return out;
}

}  // namespace

TEST_CASE("parser: words split on one or more spaces") {
  ParsedLine parsed;
  REQUIRE(parse_line("  send   henderson hello", parsed));
  CHECK(parsed.verb == "send");
  CHECK(words(parsed) == std::vector<std::string_view>{"henderson", "hello"});
  CHECK(parsed.params[0].offset == 9);
  CHECK(parsed.params[1].offset == 19);

  REQUIRE(parse_line("inbox", parsed));
  CHECK(parsed.verb == "inbox");
  CHECK(parsed.params.empty());

  REQUIRE(parse_line("logout   ", parsed));
  CHECK(parsed.verb == "logout");
  CHECK(parsed.params.empty());
}

TEST_CASE("parser: only ' ' separates; tabs and other bytes belong to words") {
  ParsedLine parsed;
  REQUIRE(parse_line("send\tbob hi\tthere \r", parsed));
  CHECK(parsed.verb == "send\tbob");
  CHECK(words(parsed) == std::vector<std::string_view>{"hi\tthere", "\r"});
}

TEST_CASE("parser: the verb is lower-cased, parameters are kept as sent") {
  ParsedLine parsed;
  REQUIRE(parse_line("SeNdGrOuP Kominfo HeLLo", parsed));
  CHECK(parsed.verb == "sendgroup");
  CHECK(words(parsed) == std::vector<std::string_view>{"Kominfo", "HeLLo"});

  // Only ASCII is folded: UTF-8 bytes pass through untouched.
  REQUIRE(parse_line("\xC3\x89TAT x", parsed));
  CHECK(parsed.verb == "\xC3\x89tat");
}

TEST_CASE("parser: an empty or all-space line is no command") {
  ParsedLine parsed;
  CHECK_FALSE(parse_line("", parsed));
  CHECK_FALSE(parse_line("     ", parsed));
  CHECK(parsed.verb.empty());
  CHECK(parsed.params.empty());
  // A tab is not a separator, so this is a (bad) command word.
  CHECK(parse_line(" \t ", parsed));
  CHECK(parsed.verb == "\t");
}

TEST_CASE("parser: a reused ParsedLine holds only the last line") {
  ParsedLine parsed;
  REQUIRE(parse_line("send a b c d", parsed));
  REQUIRE(parse_line("INBOX", parsed));
  CHECK(parsed.verb == "inbox");
  CHECK(parsed.params.empty());
  CHECK(parsed.line == "INBOX");
}

TEST_CASE("parser: rest_from keeps inner spacing and drops trailing spaces and tabs") {
  ParsedLine parsed;
  REQUIRE(parse_line("send   henderson   hello   big \t world\t \t  ", parsed));
  CHECK(parsed.rest_from(0) == "henderson   hello   big \t world");
  CHECK(parsed.rest_from(1) == "hello   big \t world");
  CHECK(parsed.params[3].text == "\t");  // a lone tab is a word of its own
  CHECK(parsed.rest_from(3) == "\t world");
  CHECK(parsed.rest_from(4) == "world");
  CHECK(parsed.rest_from(5) == "");
  CHECK(parsed.rest_from(100) == "");

  REQUIRE(parse_line("send bob \t\t ", parsed));
  CHECK(words(parsed) == std::vector<std::string_view>{"bob", "\t\t"});
  CHECK(parsed.rest_from(1) == "");

  REQUIRE(parse_line("send bob x", parsed));
  CHECK(parsed.rest_from(1) == "x");
}

TEST_CASE("utf8: well-formed text is accepted") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii ~"));
  CHECK(is_valid_utf8("\xC3\xA9t\xC3\xA9"));                     // é, two bytes
  CHECK(is_valid_utf8("\xE2\x82\xAC"));                          // €, three bytes
  CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));                      // U+1F600, four bytes
  CHECK(is_valid_utf8("\xED\x9F\xBF"));                          // U+D7FF, just below surrogates
  CHECK(is_valid_utf8("\xEE\x80\x80"));                          // U+E000, just above them
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF, the last code point
  CHECK(is_valid_utf8("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"));  // 日本語
}

TEST_CASE("utf8: malformed text is rejected") {
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xC1\xBF"));          // overlong, two bytes
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong, three bytes
  CHECK_FALSE(is_valid_utf8("\xF0\x80\x80\xAF"));  // overlong, four bytes
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // U+D800, a lone high surrogate
  CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));      // U+DFFF, a lone low surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000, past the last code point
  CHECK_FALSE(is_valid_utf8("\x80"));              // lone continuation byte
  CHECK_FALSE(is_valid_utf8("ab\xBF ab"));         // continuation byte inside ASCII
  CHECK_FALSE(is_valid_utf8("\xFE"));
  CHECK_FALSE(is_valid_utf8("\xFF"));
  CHECK_FALSE(is_valid_utf8("\xC3"));          // truncated at the end
  CHECK_FALSE(is_valid_utf8("x\xE2\x82"));     // truncated at the end
  CHECK_FALSE(is_valid_utf8("\xF0\x9F\x98"));  // truncated at the end
  CHECK_FALSE(is_valid_utf8("\xC3 x"));        // truncated before ASCII
  // After a long ASCII run (checked a byte at a time before the validator takes over).
  const std::string ascii(100, 'a');
  CHECK(is_valid_utf8(ascii + "\xC3\xA9" + ascii));
  CHECK_FALSE(is_valid_utf8(ascii + "\xC3"));
  CHECK_FALSE(is_valid_utf8(ascii + "\xC0\xAF" + ascii));
  CHECK_FALSE(is_valid_utf8(ascii + "\xBF"));
}

TEST_CASE("utf8: an embedded NUL is rejected") {
  using namespace std::string_view_literals;
  CHECK_FALSE(is_valid_utf8("a\0b"sv));
  CHECK_FALSE(is_valid_utf8("\0"sv));
  CHECK_FALSE(is_valid_utf8("after ASCII\0"sv));
  CHECK_FALSE(is_valid_utf8("\xC3\xA9\0"sv));
}

TEST_CASE("utf8: a truncated sequence at the end of a view does not read past it") {
  // The view stops in the middle of a valid sequence; the bytes after it must not be used.
  const std::string backing = "ok\xE2\x82\xAC";
  CHECK_FALSE(is_valid_utf8(std::string_view(backing).substr(0, 4)));
  CHECK(is_valid_utf8(backing));
}

TEST_CASE("token shape: 8-4-4-4-12 hex digits") {
  CHECK(looks_like_token("123e4567-e89b-12d3-a456-426614174000"));
  CHECK(looks_like_token("ABCDEF01-2345-6789-ABCD-EF0123456789"));
  CHECK(looks_like_token("abcdef01-2345-6789-abcd-ef0123456789"));

  CHECK_FALSE(looks_like_token(""));
  CHECK_FALSE(looks_like_token("henderson"));
  CHECK_FALSE(looks_like_token("123e4567-e89b-12d3-a456-42661417400"));    // 35 chars
  CHECK_FALSE(looks_like_token("123e4567-e89b-12d3-a456-4266141740000"));  // 37 chars
  CHECK_FALSE(looks_like_token("123e4567e-89b-12d3-a456-426614174000"));   // dash moved
  CHECK_FALSE(looks_like_token("123e4567-e89b-12d3-a456_426614174000"));   // not a dash
  CHECK_FALSE(looks_like_token("123g4567-e89b-12d3-a456-426614174000"));   // not hex
  CHECK_FALSE(looks_like_token("123e4567-e89b-12d3-a456-42661417400-"));   // dash for a digit
  CHECK_FALSE(looks_like_token("123e4567 e89b 12d3 a456 426614174000"));
}
