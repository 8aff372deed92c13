#include "chatclient/reply_printer.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

using chat::client::print_reply;
using chat::client::PrintOptions;
using chat::client::realm_of_info_reply;
using chat::client::split_command_line;

namespace {

// Times print in the local time zone: these tests fix it (UTC unless a test says otherwise).
void use_time_zone(const char* tz) {
  setenv("TZ", tz, 1);
  tzset();
}
const bool utc_for_these_tests = (use_time_zone("UTC0"), true);

PrintOptions plain() {
  return {};
}

std::string printed(std::string_view command, std::string_view reply_json,
                    PrintOptions options = plain()) {
  return print_reply(split_command_line(command), reply_json, options).text;
}

bool is_error(std::string_view command, std::string_view reply_json) {
  return print_reply(split_command_line(command), reply_json, plain()).is_error;
}

}  // namespace

TEST_CASE("an error reply is marked, and red only with colors on") {
  const std::string reply = R"({"status":"ERROR","message":"User tidak ditemukan"})";
  CHECK(printed("send nobody hi", reply) == "error: User tidak ditemukan\n");
  CHECK(is_error("send nobody hi", reply));
  PrintOptions color;
  color.color = true;
  CHECK(printed("send nobody hi", reply, color) == "\x1b[31merror: User tidak ditemukan\x1b[0m\n");
}

TEST_CASE("a message reply prints as ok") {
  const std::string reply = R"({"status":"OK","message":"Message sent"})";
  CHECK(printed("send henderson hello", reply) == "ok: Message sent\n");
  CHECK_FALSE(is_error("send henderson hello", reply));
  CHECK(printed("sendprivaterealm beta henderson hi",
                R"({"status":"OK","message":"Message queued for realm","queued":true})") ==
        "ok: Message queued for realm\n");
  CHECK(printed("logout", R"({"status":"OK"})") == "ok\n");
}

TEST_CASE("auth and register never show the token") {
  CHECK(printed("auth messi surabaya",
                R"({"status":"OK","tokenid":"0b6f3c2e-8d1a-4c55-9e0f-1a2b3c4d5e6f"})") ==
        "ok: Logged in as messi\n");
  CHECK(printed("REGISTER ronaldo pw Cristiano_Ronaldo Portugal",
                R"({"status":"OK","message":"User registered",)"
                R"("tokenid":"0b6f3c2e-8d1a-4c55-9e0f-1a2b3c4d5e6f"})") ==
        "ok: User registered, logged in as ronaldo\n");
}

TEST_CASE("addrealm shows the link state") {
  CHECK(printed("addrealm beta",
                R"({"status":"OK","message":"Realm added successfully","state":"connecting"})") ==
        "ok: Realm added successfully (state: connecting)\n");
}

TEST_CASE("inbox: grouped by sender in the server's order, oldest first, with times") {
  const std::string reply =
      R"({"status":"OK","messages":{)"
      R"("messi":[)"
      R"({"id":1,"msg_from":"messi","msg_to":"henderson","msg":"hello","realm":"alpha","time":"2026-11-26T22:33:16Z"},)"
      R"({"id":3,"msg_from":"messi","msg_to":"kominfo","msg":"hi  all","realm":"alpha","time":"2026-11-26T22:35:00Z","group":"kominfo"}],)"
      R"("lineker":[)"
      R"({"id":2,"msg_from":"lineker","msg_to":"henderson","msg":"yo","realm":"alpha","time":"2026-11-26T22:34:01Z"}]}})";
  CHECK(printed("inbox", reply) ==
        "From messi (2 messages):\n"
        "  [22:33:16] messi: hello\n"
        "  [22:35:00] messi @kominfo: hi  all\n"
        "From lineker (1 message):\n"
        "  [22:34:01] lineker: yo\n");
  CHECK_FALSE(is_error("inbox", reply));
}

TEST_CASE("an empty inbox says so") {
  CHECK(printed("inbox", R"({"status":"OK","messages":{}})") == "(no messages)\n");
}

TEST_CASE("getrealminbox shows the sender's realm and marks bounces") {
  const std::string reply =
      R"({"status":"OK","realm":"beta","synced":true,"messages":{)"
      R"("ronaldo":[)"
      R"({"id":7,"msg_from":"ronaldo","msg_to":"messi","msg":"halo","realm":"beta","time":"2026-11-26T08:01:02Z"},)"
      R"({"id":8,"msg_from":"ronaldo","msg_to":"kominfo","msg":"rapat","realm":"beta","time":"2026-11-26T08:01:03Z","group":"kominfo"}],)"
      R"("beta":[)"
      R"({"id":9,"msg_from":"beta","msg_to":"messi","msg":"User tidak ditemukan: nobody","realm":"beta","time":"2026-11-26T08:02:00Z","bounce":true}]}})";
  CHECK(printed("getrealminbox beta", reply) ==
        "From ronaldo (2 messages):\n"
        "  [08:01:02] ronaldo@beta: halo\n"
        "  [08:01:03] ronaldo@beta @kominfo: rapat\n"
        "From beta (1 message):\n"
        "  [08:02:00] bounced by beta: User tidak ditemukan: nobody\n");
  PrintOptions color;
  color.color = true;
  CHECK(printed("getrealminbox beta", reply, color)
            .ends_with(
                "\x1b[33m  [08:02:00] bounced by beta: User tidak ditemukan: nobody\x1b[0m\n"));
}

TEST_CASE("getrealminbox: empty, and not synced") {
  CHECK(printed("getrealminbox beta",
                R"({"status":"OK","realm":"beta","messages":{},"synced":true})") ==
        "(no messages from realm beta)\n");
  CHECK(printed("getrealminbox beta",
                R"({"status":"OK","realm":"beta","messages":{},"synced":false})") ==
        "warning: realm beta could not be reached; showing what had arrived\n"
        "(no messages from realm beta)\n");
}

TEST_CASE("info prints a table in the server's field order") {
  const std::string reply = R"({"status":"OK","data":{"username":"messi","nama":"Lionel_Messi",)"
                            R"("negara":"Argentina","realm":"alpha","online":true}})";
  CHECK(printed("info messi", reply) ==
        "  username  messi\n"
        "  nama      Lionel_Messi\n"
        "  negara    Argentina\n"
        "  realm     alpha\n"
        "  online    yes\n");
  CHECK(realm_of_info_reply(reply) == "alpha");
  CHECK_FALSE(realm_of_info_reply(R"({"status":"ERROR","message":"User tidak ditemukan"})"));
  CHECK_FALSE(realm_of_info_reply("not json"));
}

// Found by fuzz_reply_printer: an empty table printed nothing, not even a line.
TEST_CASE("info with an empty data object still prints a line") {
  CHECK(printed("info messi", R"({"status":"OK","data":{}})") == "(no data)\n");
}

TEST_CASE("--json passes the reply through and still tells errors apart") {
  PrintOptions json;
  json.json = true;
  const std::string ok = R"({"status":"OK","messages":{}})";
  const std::string error = R"({"status":"ERROR","message":"Session tidak ditemukan"})";
  const auto ok_printed = print_reply(split_command_line("inbox"), ok, json);
  CHECK(ok_printed.text == ok + "\n");
  CHECK_FALSE(ok_printed.is_error);
  const auto error_printed = print_reply(split_command_line("inbox"), error, json);
  CHECK(error_printed.text == error + "\n");
  CHECK(error_printed.is_error);
}

TEST_CASE("a reply that is not a protocol reply is an error") {
  CHECK(printed("inbox", "hello there") == "error: unexpected reply from server: hello there\n");
  CHECK(is_error("inbox", "hello there"));
  CHECK(is_error("inbox", R"({"status":"MAYBE"})"));
  CHECK(is_error("inbox", R"({"status":"OK","messages":[1,2]})"));
}

TEST_CASE("control characters from other users cannot reach the terminal") {
  const std::string reply =
      R"({"status":"OK","messages":{"eve":[{"id":1,"msg_from":"eve","msg_to":"messi",)"
      R"("msg":"a\u001b[2Jb\u009bc\td","realm":"alpha","time":"2026-11-26T22:33:16Z"}]}})";
  CHECK(printed("inbox", reply) ==
        "From eve (1 message):\n"
        "  [22:33:16] eve: a?[2Jb?c d\n");
}

TEST_CASE("realms prints a table; empty fields show as a dash") {
  const std::string reply =
      R"({"status":"OK","realms":[)"
      R"({"name":"beta","state":"linked","address":"127.0.0.1:9890","queued":0,"last_error":""},)"
      R"({"name":"gamma","state":"connecting","address":"127.0.0.1:9891","queued":12,)"
      R"("last_error":"Connection refused"},)"
      R"({"name":"delta","state":"down","address":"","queued":0,"last_error":""}]})";
  CHECK(printed("realms", reply) ==
        "  name   state       address         queued  last error\n"
        "  beta   linked      127.0.0.1:9890  0       -\n"
        "  gamma  connecting  127.0.0.1:9891  12      Connection refused\n"
        "  delta  down        -               0       -\n");
  CHECK_FALSE(is_error("realms", reply));
  CHECK(printed("realms", R"({"status":"OK","realms":[]})") == "(no realms)\n");
  CHECK(is_error("realms", R"({"status":"OK","realms":{"beta":1}})"));
}

TEST_CASE("realms lists routed realms apart, with their next hop and distance") {
  const std::string reply =
      R"({"status":"OK","realms":[)"
      R"({"name":"beta","state":"linked","address":"127.0.0.1:9890","queued":0,"last_error":""},)"
      R"({"name":"gamma","state":"routed","address":"","queued":3,"last_error":"",)"
      R"("via":"beta","distance":2},)"
      R"({"name":"delta","state":"routed","address":"","queued":0,"last_error":"",)"
      R"("via":"beta","distance":3},)"
      R"({"name":"epsilon","state":"unreachable","address":"","queued":7,"last_error":""}]})";
  CHECK(printed("realms", reply) ==
        "Direct peers:\n"
        "  name  state   address         queued  last error\n"
        "  beta  linked  127.0.0.1:9890  0       -\n"
        "Through other realms (next hop, links away):\n"
        "  name     state        via   distance  queued\n"
        "  gamma    routed       beta  2         3\n"
        "  delta    routed       beta  3         0\n"
        "  epsilon  unreachable  -     -         7\n");
  CHECK_FALSE(is_error("realms", reply));
}

TEST_CASE("realms with routed realms only says there is no direct peer") {
  // A peer named in the config but not linked yet is listed as routed while a path is up.
  CHECK(printed("realms", R"({"status":"OK","realms":[{"name":"gamma","state":"routed",)"
                          R"("address":"127.0.0.1:9891","queued":0,"last_error":"","via":"beta",)"
                          R"("distance":2}]})") ==
        "Direct peers: none\n"
        "Through other realms (next hop, links away):\n"
        "  name   state   via   distance  queued\n"
        "  gamma  routed  beta  2         0\n");
  // The server's text is not trusted: control characters in a name or a hop become '?'.
  CHECK(printed("realms", R"({"status":"OK","realms":[{"name":"g\u001b[2J","state":"routed",)"
                          R"("via":"b\n","distance":"2\r"}]})") ==
        "Direct peers: none\n"
        "Through other realms (next hop, links away):\n"
        "  name   state   via  distance  queued\n"
        "  g?[2J  routed  b?   2?        -\n");
}

namespace {

std::string event_line(std::string_view message_json,
                       std::optional<std::string_view> home_realm = "alpha",
                       PrintOptions options = plain()) {
  const std::string event = R"({"event":"message","message":)" + std::string(message_json) + "}";
  return chat::client::print_event(event, home_realm, options);
}

}  // namespace

TEST_CASE("a pushed message is one line; the realm shows only for another realm's sender") {
  CHECK(event_line(R"({"id":9,"msg_from":"messi","msg_to":"henderson","msg":"hello",)"
                   R"("realm":"alpha","time":"2026-11-26T22:33:16Z"})") ==
        "[22:33:16] messi: hello\n");
  CHECK(event_line(R"({"id":10,"msg_from":"messi","msg_to":"kominfo","msg":"hi",)"
                   R"("realm":"alpha","time":"2026-11-26T22:33:17Z","group":"kominfo"})") ==
        "[22:33:17] messi @kominfo: hi\n");
  CHECK(event_line(R"({"id":4,"msg_from":"ronaldo","msg_to":"messi","msg":"ola",)"
                   R"("realm":"beta","time":"2026-11-26T22:33:18Z"})") ==
        "[22:33:18] ronaldo@beta: ola\n");
  CHECK(event_line(R"({"id":5,"msg_from":"ronaldo","msg_to":"kominfo","msg":"rapat",)"
                   R"("realm":"beta","time":"2026-11-26T22:33:19Z","group":"kominfo"})") ==
        "[22:33:19] ronaldo@beta @kominfo: rapat\n");
}

TEST_CASE("a pushed message with the home realm unknown shows the sender's realm") {
  CHECK(event_line(R"({"id":9,"msg_from":"messi","msg_to":"henderson","msg":"hello",)"
                   R"("realm":"alpha","time":"2026-11-26T22:33:16Z"})",
                   std::nullopt) == "[22:33:16] messi@alpha: hello\n");
}

TEST_CASE("a pushed bounce is marked, yellow with colors on") {
  const std::string bounce =
      R"({"id":11,"msg_from":"beta","msg_to":"messi","realm":"beta","bounce":true,)"
      R"("msg":"Pesan untuk jokowi tidak terkirim: User tidak ditemukan",)"
      R"("time":"2026-11-26T22:40:00Z"})";
  CHECK(event_line(bounce) ==
        "[22:40:00] bounced by beta: Pesan untuk jokowi tidak terkirim: User tidak ditemukan\n");
  PrintOptions color;
  color.color = true;
  CHECK(event_line(bounce, "alpha", color) ==
        "\x1b[33m[22:40:00] bounced by beta: Pesan untuk jokowi tidak terkirim: "
        "User tidak ditemukan\x1b[0m\n");
}

TEST_CASE("events: --json passes them through; unknown or malformed ones print nothing") {
  PrintOptions json;
  json.json = true;
  const std::string event = R"({"event":"typing","user":"messi"})";
  CHECK(chat::client::print_event(event, "alpha", json) == event + "\n");
  CHECK(chat::client::print_event(event, "alpha", plain()).empty());
  CHECK(
      chat::client::print_event(R"({"event":"message","message":"x"})", "alpha", plain()).empty());
  CHECK(chat::client::print_event("garbage", "alpha", plain()).empty());
}

TEST_CASE("a pushed message cannot smuggle control characters either") {
  CHECK(event_line(R"({"id":9,"msg_from":"eve","msg_to":"messi","msg":"a\u001b[2Jb",)"
                   R"("realm":"alpha","time":"2026-11-26T22:33:16Z"})") ==
        "[22:33:16] eve: a?[2Jb\n");
}

TEST_CASE("times are local: the time zone moves the clock, UTC stays as sent") {
  const std::string event =
      R"({"event":"message","message":{"id":1,"msg_from":"messi",)"
      R"("msg_to":"x","msg":"hi","realm":"alpha","time":"2026-11-26T22:33:16Z"}})";
  use_time_zone("WIB-7");  // UTC+7, no daylight saving
  CHECK(chat::client::print_event(event, "alpha", plain()) == "[05:33:16] messi: hi\n");
  use_time_zone("UTC0");
  CHECK(chat::client::print_event(event, "alpha", plain()) == "[22:33:16] messi: hi\n");
}

TEST_CASE("history: one dated line per message, oldest first, and how to page back") {
  const std::string reply =
      R"({"status":"OK","messages":[)"
      R"({"id":3,"msg_from":"messi","msg_to":"jokowi","msg":"halo","realm":"alpha","time":"2026-11-26T22:33:16Z"},)"
      R"({"id":7,"msg_from":"jokowi","msg_to":"messi","msg":"apa kabar","realm":"beta","time":"2026-11-26T22:34:00Z"}],)"
      R"("more":true})";
  CHECK(printed("history realm beta jokowi", reply) ==
        "  [2026-11-26 22:33:16] messi@alpha: halo\n"
        "  [2026-11-26 22:34:00] jokowi@beta: apa kabar\n"
        "(older messages: /history shows the page before)\n");
  CHECK(printed("history user henderson", R"({"status":"OK","messages":[],"more":false})") ==
        "(no messages)\n");
  const auto page = chat::client::history_page_info(reply);
  CHECK(page.oldest_id == 3);
  CHECK(page.more);
}

TEST_CASE("conversations: labels by kind, unread counts, newest first as sent") {
  const std::string reply =
      R"({"status":"OK","conversations":[)"
      R"({"kind":"realm","name":"jokowi","realm":"beta","last_id":9,"last_time":"2026-11-26T22:35:00Z","unread":2},)"
      R"({"kind":"group","name":"kominfo","realm":"alpha","last_id":5,"last_time":"2026-11-26T22:34:00Z","unread":0},)"
      R"({"kind":"user","name":"henderson","realm":"alpha","last_id":1,"last_time":"2026-11-26T22:33:00Z","unread":1}]})";
  CHECK(printed("conversations", reply) ==
        "Conversations (newest first; /history NAME shows one):\n"
        "  jokowi@beta  2 unread  last 2026-11-26 22:35:00\n"
        "  #kominfo               last 2026-11-26 22:34:00\n"
        "  henderson    1 unread  last 2026-11-26 22:33:00\n");
  CHECK(printed("conversations", R"({"status":"OK","conversations":[]})") ==
        "(no conversations yet)\n");
  const auto names = chat::client::names_in_reply(reply, "alpha");
  CHECK(names == std::vector<std::string>{"jokowi@beta", "kominfo", "henderson"});
}

TEST_CASE("a notice is the server's own words; inbox replies turn into event lines") {
  CHECK(chat::client::print_notice(
            R"({"status":"ERROR","message":"Tidak aktif terlalu lama, koneksi ditutup"})",
            plain()) == "server: Tidak aktif terlalu lama, koneksi ditutup\n");
  const std::string inbox =
      R"({"status":"OK","realm":"beta","messages":{"b":[)"
      R"({"id":8,"msg_from":"b","msg_to":"messi","msg":"two","realm":"beta","time":"2026-11-26T22:33:02Z"}],"a":[)"
      R"({"id":6,"msg_from":"a","msg_to":"messi","msg":"one","realm":"beta","time":"2026-11-26T22:33:01Z"}]},"synced":true})";
  CHECK(chat::client::inbox_as_event_lines(inbox, "alpha", plain()) ==
        "[22:33:01] a@beta: one\n[22:33:02] b@beta: two\n");
  CHECK(chat::client::inbox_as_event_lines(R"({"status":"OK","messages":{}})", "alpha", plain())
            .empty());
  CHECK(chat::client::error_message_of(R"({"status":"ERROR","message":"x"})") == "x");
  CHECK_FALSE(chat::client::error_message_of(R"({"status":"OK"})"));
}

TEST_CASE("realms that getrealminbox can ask: all but the idle ones") {
  CHECK(chat::client::reachable_realms_of(
            R"({"status":"OK","realms":[{"name":"beta","state":"linked"},)"
            R"({"name":"gamma","state":"idle"},{"name":"delta","state":"down"}]})") ==
        std::vector<std::string>{"beta", "delta"});
}
