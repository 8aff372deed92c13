#include "chatclient/frame_splitter.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using chat::client::FrameKind;
using chat::client::FrameSplitter;
using chat::client::kind_of_frame;

TEST_CASE("frames come out whole, in order, without their terminator") {
  FrameSplitter splitter(1024);
  splitter.append(R"({"status":"OK","message":"Watching"})"
                  "\r\n\r\n"
                  R"({"event":"message","message":{"id":1}})"
                  "\r\n\r\n");
  CHECK(splitter.next_frame() == R"({"status":"OK","message":"Watching"})");
  CHECK(splitter.next_frame() == R"({"event":"message","message":{"id":1}})");
  CHECK_FALSE(splitter.next_frame());
}

TEST_CASE("a frame split anywhere, even inside its terminator, waits until it is whole") {
  const std::string stream = R"({"status":"OK"})"
                             "\r\n\r\n"
                             R"({"status":"ERROR"})"
                             "\r\n\r\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    FrameSplitter splitter(1024);
    std::vector<std::string> frames;
    splitter.append(stream.substr(0, cut));
    while (auto frame = splitter.next_frame()) frames.push_back(*frame);
    splitter.append(stream.substr(cut));
    while (auto frame = splitter.next_frame()) frames.push_back(*frame);
    CHECK(frames == std::vector<std::string>{R"({"status":"OK"})", R"({"status":"ERROR"})"});
  }
}

TEST_CASE("byte by byte: a lone CRLF inside a frame does not end it") {
  const std::string stream = "a\r\nb\r\n\r\nc\r\n\r\n";
  FrameSplitter splitter(1024);
  std::vector<std::string> frames;
  for (const char byte : stream) {
    splitter.append(std::string_view(&byte, 1));
    while (auto frame = splitter.next_frame()) frames.push_back(*frame);
  }
  CHECK(frames == std::vector<std::string>{"a\r\nb", "c"});
}

TEST_CASE("a partial frame longer than the limit overflows; one at the limit does not") {
  FrameSplitter at_limit(4);
  at_limit.append("abcd\r\n\r");
  CHECK_FALSE(at_limit.next_frame());
  CHECK_FALSE(at_limit.overflowed());
  at_limit.append("\n");
  CHECK(at_limit.next_frame() == "abcd");

  FrameSplitter over(4);
  over.append("abcde\r\n");
  CHECK_FALSE(over.next_frame());
  CHECK_FALSE(over.overflowed());
  over.append("x");
  CHECK_FALSE(over.next_frame());
  CHECK(over.overflowed());
}

TEST_CASE("an event has an \"event\" key and no \"status\"; everything else is a reply") {
  CHECK(kind_of_frame(R"({"event":"message","message":{"id":9}})") == FrameKind::event);
  CHECK(kind_of_frame(R"({"event":"later_kind"})") == FrameKind::event);
  CHECK(kind_of_frame(R"({"status":"OK","message":"Watching"})") == FrameKind::reply);
  CHECK(kind_of_frame(R"({"status":"OK","event":"message"})") == FrameKind::reply);
  CHECK(kind_of_frame(R"({"status":"OK","messages":{"x":[{"event":1}]}})") == FrameKind::reply);
  CHECK(kind_of_frame("not json") == FrameKind::reply);
  CHECK(kind_of_frame(R"(["event"])") == FrameKind::reply);
}
