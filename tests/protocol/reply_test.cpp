#include "protocol/reply.hpp"

#include <doctest/doctest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/messages.hpp"

namespace reply = chat::protocol::reply;
namespace text = chat::protocol::text;

namespace {

// g++ 12 warns (-Wmissing-field-initializers) on designated initializers that leave members
// out, so messages are built here and marked group/bounce afterwards.
reply::MessageView message(std::uint64_t id, std::string_view from, std::string_view to,
                           std::string_view msg, std::string_view realm, std::string_view time) {
  reply::MessageView m;
  m.id = id;
  m.from = from;
  m.to = to;
  m.text = msg;
  m.realm = realm;
  m.time = time;
  return m;
}

reply::MessageView in_group(reply::MessageView m, std::string_view group) {
  m.group = group;
  return m;
}

reply::MessageView bounced(reply::MessageView m) {
  m.bounce = true;
  return m;
}

}  // namespace

TEST_CASE("reply: message replies") {
  CHECK(reply::error(text::unknown_command) ==
        R"({"status":"ERROR","message":"*Maaf, command tidak benar"})");
  CHECK(reply::error(text::line_too_long) ==
        R"({"status":"ERROR","message":"Request terlalu panjang"})");
  CHECK(reply::ok_message(text::message_sent) == R"({"status":"OK","message":"Message sent"})");
}

TEST_CASE("reply: a message with nothing to escape is written as RapidJSON writes it") {
  // Non-ASCII, '/', DEL and spaces go out as they are; only control bytes, '"' and '\\' escape.
  CHECK(reply::ok_message("caf\xC3\xA9 a/b \x7F") ==
        "{\"status\":\"OK\",\"message\":\"caf\xC3\xA9 a/b \x7F\"}");
  CHECK(reply::error("x\"y") == R"({"status":"ERROR","message":"x\"y"})");
  CHECK(reply::ok_message("") == R"({"status":"OK","message":""})");
}

TEST_CASE("reply: a history page, nested and with more") {
  std::vector<reply::MessageView> page = {
      message(7, "a\"b", "c", "x\n", "alpha", "t1"),
      bounced(in_group(message(9, "d", "e", "", "beta", "t2"), "g/1"))};
  CHECK(reply::ok_history(page, true) ==
        R"({"status":"OK","messages":[{"id":7,"msg_from":"a\"b","msg_to":"c","msg":"x\n",)"
        R"("realm":"alpha","time":"t1"},{"id":9,"msg_from":"d","msg_to":"e","msg":"",)"
        R"("realm":"beta","time":"t2","group":"g/1","bounce":true}],"more":true})");
  CHECK(reply::ok_history({}, false) == R"({"status":"OK","messages":[],"more":false})");
}

TEST_CASE("reply: room for the terminator, so that appending it does not reallocate") {
  for (const std::string& out :
       {reply::ok_message(text::message_sent), reply::error(text::unknown_command),
        reply::ok_message("a\tb"), reply::ok_token("t"), reply::ok_queued()}) {
    CHECK(out.capacity() >= out.size() + reply::terminator.size());
  }
}

TEST_CASE("reply: auth and register") {
  const std::string_view token = "123e4567-e89b-12d3-a456-426614174000";
  CHECK(reply::ok_token(token) ==
        R"({"status":"OK","tokenid":"123e4567-e89b-12d3-a456-426614174000"})");
  CHECK(
      reply::ok_registered(token) ==
      R"({"status":"OK","message":"User registered","tokenid":"123e4567-e89b-12d3-a456-426614174000"})");
}

TEST_CASE("reply: inbox, empty and with private, group and bounce messages") {
  CHECK(reply::ok_inbox({}) == R"({"status":"OK","messages":{}})");

  const std::vector<reply::SenderMessages> inbox = {
      {"messi",
       {message(7, "messi", "henderson", "hello there", "alpha", "2026-11-26T22:33:16Z"),
        in_group(message(9, "messi", "henderson", "to the group", "alpha", "2026-11-26T22:34:00Z"),
                 "kominfo")}},
      {"lineker", {message(8, "lineker", "henderson", "x", "alpha", "2026-11-26T22:33:50Z")}}};
  CHECK(
      reply::ok_inbox(inbox) ==
      R"({"status":"OK","messages":{"messi":[)"
      R"({"id":7,"msg_from":"messi","msg_to":"henderson","msg":"hello there","realm":"alpha","time":"2026-11-26T22:33:16Z"},)"
      R"({"id":9,"msg_from":"messi","msg_to":"henderson","msg":"to the group","realm":"alpha","time":"2026-11-26T22:34:00Z","group":"kominfo"}],)"
      R"("lineker":[{"id":8,"msg_from":"lineker","msg_to":"henderson","msg":"x","realm":"alpha","time":"2026-11-26T22:33:50Z"}]}})");

  const std::vector<reply::SenderMessages> from_beta = {
      {"beta",
       {bounced(in_group(message(18446744073709551615u, "beta", "messi", "User tidak ditemukan",
                                 "beta", "2026-11-26T22:35:00Z"),
                         "kominfo"))}}};
  CHECK(
      reply::ok_realm_inbox("beta", from_beta, false) ==
      R"({"status":"OK","realm":"beta","messages":{"beta":[)"
      R"({"id":18446744073709551615,"msg_from":"beta","msg_to":"messi","msg":"User tidak ditemukan","realm":"beta","time":"2026-11-26T22:35:00Z","group":"kominfo","bounce":true}]},"synced":false})");
  CHECK(reply::ok_realm_inbox("gamma", {}, true) ==
        R"({"status":"OK","realm":"gamma","messages":{},"synced":true})");
}

TEST_CASE("reply: info") {
  reply::UserInfo info;
  info.username = "messi";
  info.nama = "Lionel_Messi";
  info.negara = "Argentina";
  info.realm = "alpha";
  CHECK(
      reply::ok_info(info) ==
      R"({"status":"OK","data":{"username":"messi","nama":"Lionel_Messi","negara":"Argentina","realm":"alpha","online":false}})");
  info.online = true;
  CHECK(
      reply::ok_info(info) ==
      R"({"status":"OK","data":{"username":"messi","nama":"Lionel_Messi","negara":"Argentina","realm":"alpha","online":true}})");
}

TEST_CASE("reply: realms") {
  CHECK(reply::ok_realm_added("connecting") ==
        R"({"status":"OK","message":"Realm added successfully","state":"connecting"})");
  CHECK(reply::ok_queued() ==
        R"({"status":"OK","message":"Message queued for realm","queued":true})");
}

TEST_CASE("reply: control bytes, quotes and UTF-8 in text; never a raw CR or LF") {
  using namespace std::string_view_literals;
  const std::string out = reply::ok_message("a\r\nb\t\"q\"\\ \x01\0z \xC3\xA9"sv);
  CHECK(out ==
        "{\"status\":\"OK\",\"message\":\"a\\r\\nb\\t\\\"q\\\"\\\\ \\u0001\\u0000z \xC3\xA9\"}");
  CHECK(out.find('\r') == std::string::npos);
  CHECK(out.find('\n') == std::string::npos);

  const std::vector<reply::SenderMessages> inbox = {
      {"s\n", {message(1, "s\n", "t", "x\r\ny\n", "r", "t")}}};
  const std::string listed = reply::ok_inbox(inbox);
  CHECK(listed.find('\r') == std::string::npos);
  CHECK(listed.find('\n') == std::string::npos);
  CHECK(listed.find(R"("msg":"x\r\ny\n")") != std::string::npos);
}

TEST_CASE("reply: a pushed message event has no status") {
  CHECK(
      reply::event_message(in_group(
          message(7, "messi", "henderson", "hi\r\n", "beta", "2026-11-26T22:33:16Z"), "kominfo")) ==
      R"({"event":"message","message":{"id":7,"msg_from":"messi","msg_to":"henderson","msg":"hi\r\n","realm":"beta","time":"2026-11-26T22:33:16Z","group":"kominfo"}})");
}

TEST_CASE("reply: strings copied whole come out byte for byte as RapidJSON's writer makes them") {
  // ReplyWriter copies a string with nothing to escape in one piece and leaves the rest to
  // RapidJSON; a history page built both ways from random strings (plain ones, and ones with
  // control bytes, quotes, backslashes, NULs, UTF-8 and DEL at any place) must be the same.
  std::mt19937 random(20261202);
  const std::string alphabet = std::string("ab/ \x7F\xC3\xA9\"\\\t\r\n\x01", 13) + '\0';
  auto random_string = [&] {
    std::string s(random() % 70, 'x');
    const bool plain = random() % 2 == 0;
    for (char& c : s) {
      c = plain ? static_cast<char>('a' + random() % 26) : alphabet[random() % alphabet.size()];
    }
    return s;
  };
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> texts;
    for (int i = 0; i < 5 * 6; ++i) texts.push_back(random_string());
    std::vector<reply::MessageView> page;
    for (int i = 0; i < 5; ++i) {
      const std::string* t = &texts[static_cast<std::size_t>(i) * 6];
      reply::MessageView m = message(static_cast<std::uint64_t>(i), t[0], t[1], t[2], t[3], t[4]);
      if (i % 2 == 0) m.group = t[5];
      page.push_back(m);
    }
    rapidjson::StringBuffer expected;
    rapidjson::Writer<rapidjson::StringBuffer> w(expected);
    auto put = [&](std::string_view v) { w.String(v.data(), static_cast<unsigned>(v.size())); };
    w.StartObject();
    put("status");
    put("OK");
    put("messages");
    w.StartArray();
    for (const reply::MessageView& m : page) {
      w.StartObject();
      put("id");
      w.Uint64(m.id);
      for (auto [key, value] : {std::pair{"msg_from", m.from},
                                {"msg_to", m.to},
                                {"msg", m.text},
                                {"realm", m.realm},
                                {"time", m.time}}) {
        put(key);
        put(value);
      }
      if (!m.group.empty()) {
        put("group");
        put(m.group);
      }
      w.EndObject();
    }
    w.EndArray();
    put("more");
    w.Bool(false);
    w.EndObject();
    REQUIRE(reply::ok_history(page, false) ==
            std::string_view(expected.GetString(), expected.GetSize()));
  }
}
