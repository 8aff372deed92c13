#include "fuzz_checks.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace fuzz {
namespace {

// Parses `line` as one JSON object and checks it is written the way RapidJSON's compact
// Writer writes it (so no whitespace between tokens, and no raw control characters in strings).
rapidjson::Document parse_compact_object(std::string_view kind, std::string_view line) {
  if (line.find_first_of("\r\n") != std::string_view::npos) {
    fail(std::string(kind) + " holds a raw CR or LF", line);
  }
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(), line.size());
  if (document.HasParseError()) fail(std::string(kind) + " is not valid JSON / UTF-8", line);
  if (!document.IsObject()) fail(std::string(kind) + " is not a JSON object", line);

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  document.Accept(writer);
  if (std::string_view(buffer.GetString(), buffer.GetSize()) != line) {
    fail(std::string(kind) + " is not compact JSON", line);
  }
  return document;
}

}  // namespace

void fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "\n*** fuzz property violated: %.*s\n*** bytes (%zu): ",
               static_cast<int>(what.size()), what.data(), detail.size());
  for (unsigned char c : detail) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      std::fputc(c, stderr);
    } else {
      std::fprintf(stderr, "\\x%02x", c);
    }
  }
  std::fputc('\n', stderr);
  std::abort();
}

void check_reply(std::string_view reply) {
  const rapidjson::Document document = parse_compact_object("reply", reply);
  const rapidjson::Value& root = document;
  const auto status = root.FindMember("status");
  if (status == root.MemberEnd() || !status->value.IsString()) {
    fail("reply without a string \"status\"", reply);
  }
  const std::string_view value(status->value.GetString(), status->value.GetStringLength());
  if (value == "ERROR") {
    const auto message = root.FindMember("message");
    if (message == root.MemberEnd() || !message->value.IsString()) {
      fail("error reply without a string \"message\"", reply);
    }
  } else if (value != "OK") {
    fail("reply status is neither OK nor ERROR", reply);
  }
}

void check_frame_line(std::string_view line) {
  parse_compact_object("frame line", line);
}

}  // namespace fuzz
