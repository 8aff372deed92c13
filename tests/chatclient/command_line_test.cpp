#include "chatclient/command_line.hpp"

#include <doctest/doctest.h>

using chat::client::split_command_line;

TEST_CASE("the command word is lower-cased and parameters split on runs of spaces") {
  const auto command = split_command_line("  SEND  henderson   hello  world ");
  CHECK(command.verb == "send");
  CHECK(command.params == std::vector<std::string>{"henderson", "hello", "world"});
  CHECK_FALSE(command.is_local());
}

TEST_CASE("parameters keep their case") {
  CHECK(split_command_line("Auth Messi SuraBaya").params ==
        std::vector<std::string>{"Messi", "SuraBaya"});
}

TEST_CASE("a blank line is empty; a slash word is local") {
  CHECK(split_command_line("").empty());
  CHECK(split_command_line("    ").empty());
  CHECK(split_command_line("/HELP").is_local());
  CHECK(split_command_line("/help").verb == "/help");
}

TEST_CASE("rest_from: the message text as the server takes it") {
  const auto command = split_command_line("send  henderson  hi   there  ");
  CHECK(command.rest_from(1) == "hi   there");
  CHECK(command.rest_from(2) == "there");
  CHECK(command.rest_from(3).empty());
}
