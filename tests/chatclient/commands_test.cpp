#include "chatclient/commands.hpp"

#include <doctest/doctest.h>

#include <string>

using chat::client::find_help;
using chat::client::hint_for;
using chat::client::parse_address;
using chat::client::route;
using chat::client::split_command_line;
using chat::client::usage_text;
using chat::client::with_token;

namespace {

// What `typed` becomes on the wire for a client of realm alpha ("" when it is an error).
std::string sent(std::string_view typed) {
  return route(split_command_line(typed), "alpha").line;
}
std::string error(std::string_view typed) {
  return route(split_command_line(typed), "alpha").error;
}

}  // namespace

TEST_CASE("addresses: name or name@realm, both names of the protocol") {
  const auto local = parse_address("jokowi");
  REQUIRE(local);
  CHECK(local->name == "jokowi");
  CHECK(local->realm.empty());
  const auto remote = parse_address("jokowi@beta");
  REQUIRE(remote);
  CHECK(remote->name == "jokowi");
  CHECK(remote->realm == "beta");
  CHECK_FALSE(parse_address("jokowi@"));
  CHECK_FALSE(parse_address("@beta"));
  CHECK_FALSE(parse_address("a@b@c"));
  CHECK_FALSE(parse_address("jo kowi"));
  CHECK_FALSE(parse_address(std::string(33, 'a')));
}

TEST_CASE("send NAME@REALM goes to sendprivaterealm; the text keeps its inner spacing") {
  CHECK(sent("send jokowi@beta hello  there ") == "sendprivaterealm beta jokowi hello  there");
  CHECK(sent("/msg jokowi@beta hi") == "sendprivaterealm beta jokowi hi");
  CHECK(sent("send henderson hi") == "send henderson hi");
  // The home realm's own name is the local command.
  CHECK(sent("/msg henderson@alpha hi") == "send henderson hi");
  CHECK(sent("sendgroup football@beta goal") == "sendgrouprealm beta football goal");
  CHECK(sent("/gmsg kominfo rapat") == "sendgroup kominfo rapat");
  // With the home realm unknown every @realm goes to the realm command.
  CHECK(route(split_command_line("send henderson@alpha hi"), "").line ==
        "sendprivaterealm alpha henderson hi");
}

TEST_CASE("joining: the home realm's groups only, with a reason otherwise") {
  CHECK(sent("/join kominfo") == "joingroup kominfo");
  CHECK(sent("joingroup football@alpha") == "joingroup football");
  CHECK(error("joingroup football@beta").find("joined on beta") != std::string::npos);
  CHECK(sent("addgroup kominfo@alpha") == "addgroup kominfo");
}

TEST_CASE("history: NAME@REALM is the realm form; /history takes #GROUP and a limit") {
  CHECK(sent("history user jokowi@beta 20") == "history realm beta jokowi 20");
  CHECK(sent("history user messi") == "history user messi");
  CHECK(sent("history realm beta jokowi 10 99") == "history realm beta jokowi 10 99");
  CHECK(sent("/history messi") == "history user messi");
  CHECK(sent("/history jokowi@beta 5") == "history realm beta jokowi 5");
  CHECK(sent("/history #kominfo") == "history group kominfo");
  CHECK(sent("/conversations") == "conversations");
  // Alone it means "the page before", which only the Repl knows: nothing routed.
  const auto next_page = route(split_command_line("/history"), "alpha");
  CHECK(next_page.line.empty());
  CHECK(next_page.error.empty());
}

TEST_CASE("a line the router does not know passes as typed") {
  CHECK(sent("inbox") == "inbox");
  CHECK(sent("getrealminbox beta") == "getrealminbox beta");
  CHECK(sent("SEND henderson hi") == "send henderson hi");
  CHECK(sent("frobnicate x") == "frobnicate x");
}

TEST_CASE("a malformed local command is an error with its usage") {
  CHECK(error("/msg jokowi@beta") == "usage: /msg USERNAME[@REALM] MESSAGE");
  CHECK(error("send") == "usage: send USERNAME[@REALM] MESSAGE");
  CHECK(error("/join") == "usage: /join GROUP");
  CHECK(error("/history a b c") == "usage: /history [USERNAME[@REALM] | #GROUP] [LIMIT]");
}

TEST_CASE("help: every protocol and local command, with usage for one") {
  for (const char* name : {"register",
                           "auth",
                           "logout",
                           "info",
                           "send",
                           "addgroup",
                           "joingroup",
                           "sendgroup",
                           "inbox",
                           "getrealminbox",
                           "history",
                           "conversations",
                           "watch",
                           "unwatch",
                           "realms",
                           "addrealm",
                           "sendprivaterealm",
                           "sendgrouprealm",
                           "help",
                           "/msg",
                           "/join",
                           "/history",
                           "/quiet",
                           "/quit"}) {
    CAPTURE(name);
    CHECK(find_help(name) != nullptr);
    CHECK(chat::client::help_text().find(std::string("  ") + name + " ") != std::string::npos);
  }
  CHECK(usage_text("watch") ==
        "usage: watch\n  show new messages as they arrive (on by itself in the terminal)\n");
  CHECK(usage_text("msg").starts_with("usage: /msg USERNAME[@REALM] MESSAGE\n"));
  CHECK(usage_text("/send").starts_with("usage: send "));
  CHECK(usage_text("nope") == "no command nope (type help for the list)\n");
}

TEST_CASE("errors get a hint: the usage for a bad parameter, the way to help otherwise") {
  CHECK(hint_for(split_command_line("send henderson"), "Parameter salah / tidak ada") ==
        "usage: send USERNAME[@REALM] MESSAGE");
  CHECK(hint_for(split_command_line("frob"), "*Maaf, command tidak benar") ==
        "type help for the commands");
  CHECK(hint_for(split_command_line("inbox"), "Session tidak ditemukan").starts_with("log in"));
  CHECK(hint_for(split_command_line("send nobody hi"), "User tidak ditemukan").empty());
}

TEST_CASE("token mode: the token becomes the first parameter, the rest kept as typed") {
  const std::string token = "0b6f3c2e-8d1a-4c55-9e0f-1a2b3c4d5e6f";
  CHECK(with_token(split_command_line("send henderson hi  all"), token) ==
        "send " + token + " henderson hi  all");
  CHECK(with_token(split_command_line("inbox"), token) == "inbox " + token);
  CHECK(chat::client::needs_session("history"));
  CHECK_FALSE(chat::client::needs_session("auth"));
  CHECK_FALSE(chat::client::needs_session("help"));
  CHECK_FALSE(chat::client::needs_session("frobnicate"));
}
