// realmd's log formats (realmd/ops/logging.hpp): JSON lines that parse whatever the message
// holds, the audit logger beside the default one, and a file reopened by name.
#include "ops/logging.hpp"

#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace {

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("--log-format json: one object a line, the message escaped, audit apart") {
  const test_support::TempDir dir;
  const auto file = dir.path() / "realmd.log";
  {
    realmd::Logging logging(realmd::LogFormat::json, file, "info");
    spdlog::info("quote \" backslash \\ newline \n tab \t control \x01 done");
    spdlog::debug("below the level");
    realmd::audit().warn("realm alpha: link to beta down");
  }
  const std::vector<std::string> lines = lines_of(file);
  REQUIRE(lines.size() == 2);
  rapidjson::Document first;
  REQUIRE_FALSE(first.Parse(lines[0].c_str()).HasParseError());
  CHECK(std::string(first["msg"].GetString()) ==
        "quote \" backslash \\ newline \n tab \t control \x01 done");
  CHECK(std::string(first["level"].GetString()) == "info");
  CHECK(std::string(first["logger"].GetString()) == "realmd");
  CHECK(std::string(first["time"].GetString()).ends_with("Z"));
  rapidjson::Document second;
  REQUIRE_FALSE(second.Parse(lines[1].c_str()).HasParseError());
  CHECK(std::string(second["logger"].GetString()) == "audit");
  CHECK(std::string(second["level"].GetString()) == "warning");
}

TEST_CASE("reopen() starts a new file under the same name after a rotation") {
  const test_support::TempDir dir;
  const auto file = dir.path() / "realmd.log";
  realmd::Logging logging(realmd::LogFormat::text, file, "info");
  spdlog::info("before the rotation");
  std::filesystem::rename(file, dir.path() / "realmd.log.1");
  spdlog::info("still to the old file");
  CHECK(logging.reopen());
  spdlog::info("after the rotation");
  const auto old_lines = lines_of(dir.path() / "realmd.log.1");
  const auto new_lines = lines_of(file);
  REQUIRE(old_lines.size() == 2);
  REQUIRE(new_lines.size() == 1);
  CHECK(new_lines[0].ends_with("[realmd] [info] after the rotation"));
}

TEST_CASE("stderr has nothing to reopen") {
  realmd::Logging logging(realmd::LogFormat::text, {}, "info");
  CHECK_FALSE(logging.reopen());
}
