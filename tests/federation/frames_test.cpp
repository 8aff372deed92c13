#include "federation/frames.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chat::federation;
using namespace chat::frames;

namespace {

const std::string nonce_a(64, 'a');
const std::string mac_f(64, 'f');

std::string decode_error(std::string_view line, std::size_t max_text_bytes = 16 * 1024) {
  const DecodeResult result = decode(line, max_text_bytes);
  REQUIRE_FALSE(result.ok());
  return result.error;
}

}  // namespace

TEST_CASE("every frame survives encode then decode") {
  const std::vector<Frame> frames = {
      Hello{.v = 2, .realm = "alpha", .nonce = nonce_a, .epoch = 9007199254740991, .max_text = 1},
      Auth{.mac = mac_f},
      Msg{.id = 9007199254740991u,  // the largest: 2^53 - 1
          .epoch = 9007199254740991u,
          .kind = MessageKind::user,
          .from = "messi",
          .to = "henderson",
          .text = "halo \"kawan\"\n\ttab \\ é 日本 😀",
          .time = "2026-11-26T22:33:16Z"},
      Msg{.id = 1,
          .epoch = 0,
          .kind = MessageKind::group,
          .from = "a.b-c_D9",
          .to = "kominfo",
          .text = "",
          .time = "2026-11-26T22:33:16Z"},
      Ack{.id = 7, .ok = true, .error = std::nullopt},
      Ack{.id = 8, .ok = false, .error = "User tidak ditemukan"},
      Fetch{.rid = 3, .user = "henderson"},
      Fetched{.rid = 3},
      Ping{},
      Pong{},
  };
  for (const Frame& frame : frames) {
    CAPTURE(type_name(frame));
    const std::string line = encode(frame);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.rfind(R"({"t":")", 0) == 0);
    const DecodeResult result = decode(line);
    REQUIRE_MESSAGE(result.ok(), result.error);
    CHECK(*result.frame == frame);
  }
}

TEST_CASE("exact encodings") {
  CHECK(
      encode(Msg{.id = 42,
                 .epoch = 7,
                 .kind = MessageKind::user,
                 .from = "messi",
                 .to = "henderson",
                 .text = "hi there",
                 .time = "2026-11-26T22:33:16Z"}) ==
      R"({"t":"msg","id":42,"epoch":7,"kind":"private","from":"messi","to":"henderson","text":"hi there","time":"2026-11-26T22:33:16Z"})");
  CHECK(encode(Msg{.id = 1,
                   .epoch = 7,
                   .kind = MessageKind::group,
                   .from = "a",
                   .to = "g",
                   .text = "x",
                   .time = "t"}) ==
        R"({"t":"msg","id":1,"epoch":7,"kind":"group","from":"a","to":"g","text":"x","time":"t"})");
  CHECK(encode(Ack{.id = 42, .ok = true, .error = std::nullopt}) ==
        R"({"t":"ack","id":42,"ok":true})");
  CHECK(encode(Ack{.id = 42, .ok = false, .error = "User tidak ditemukan"}) ==
        R"({"t":"ack","id":42,"ok":false,"error":"User tidak ditemukan"})");
  CHECK(encode(Hello{.v = 2, .realm = "alpha", .nonce = nonce_a, .epoch = 9, .max_text = 16384}) ==
        R"({"t":"hello","v":2,"realm":"alpha","nonce":")" + nonce_a +
            R"(","epoch":9,"max_text":16384})");
  CHECK(encode(Fetch{.rid = 9, .user = "messi"}) == R"({"t":"fetch","rid":9,"user":"messi"})");
  CHECK(encode(Fetched{.rid = 9}) == R"({"t":"fetched","rid":9})");
  CHECK(encode(Ping{}) == R"({"t":"ping"})");
  CHECK(encode(Pong{}) == R"({"t":"pong"})");
}

TEST_CASE("decode accepts any key order and ignores unknown fields") {
  const DecodeResult result = decode(
      R"({"ok":false,"extra":{"a":[1,2]},"id":5,"t":"ack","error":"Group tidak ditemukan"})");
  REQUIRE(result.ok());
  CHECK(*result.frame == Frame{Ack{.id = 5, .ok = false, .error = "Group tidak ditemukan"}});
  CHECK(result.error.empty());
  // Uppercase hex is hex.
  CHECK(decode(R"({"t":"auth","mac":")" + std::string(64, 'F') + R"("})").ok());
}

TEST_CASE("decode rejects a line that is not a JSON object") {
  CHECK(decode_error("{\"t\":\"ping\"\xff}") == "not valid UTF-8");
  CHECK(decode_error("") == "malformed JSON: The document is empty. (at byte 0)");
  CHECK(decode_error(R"({"t":"ping")") ==
        "malformed JSON: Missing a comma or '}' after an object member. (at byte 11)");
  CHECK(decode_error(R"({"t":"ping"} {})") ==
        "malformed JSON: The document root must not be followed by other values. (at byte 13)");
  CHECK(decode_error(std::string(100000, '[')).rfind("malformed JSON: ", 0) == 0);
  CHECK(decode_error(R"(["t","ping"])") == "not a JSON object");
  CHECK(decode_error("42") == "not a JSON object");
}

TEST_CASE("decode rejects a missing, ill-typed or unknown type") {
  CHECK(decode_error(R"({"type":"ping"})") == R"(missing field "t")");
  CHECK(decode_error(R"({"t":1})") == R"(field "t" is not a string)");
  CHECK(decode_error(R"({"t":"PING"})") == "unknown frame type");
  CHECK(decode_error(R"({"t":"shutdown"})") == "unknown frame type");
}

TEST_CASE("decode rejects missing and ill-typed fields") {
  CHECK(decode_error(R"({"t":"ack","ok":true})") == R"(missing field "id" in ack frame)");
  CHECK(decode_error(R"({"t":"ack","id":1})") == R"(missing field "ok" in ack frame)");
  CHECK(decode_error(R"({"t":"ack","id":-1,"ok":true})") ==
        R"(field "id" is not an unsigned integer in ack frame)");
  CHECK(decode_error(R"({"t":"ack","id":1.5,"ok":true})") ==
        R"(field "id" is not an unsigned integer in ack frame)");
  CHECK(decode_error(R"({"t":"ack","id":"1","ok":true})") ==
        R"(field "id" is not an unsigned integer in ack frame)");
  CHECK(decode_error(R"({"t":"ack","id":18446744073709551616,"ok":true})") ==
        R"(field "id" is not an unsigned integer in ack frame)");
  CHECK(decode_error(R"({"t":"ack","id":1,"ok":1})") ==
        R"(field "ok" is not a boolean in ack frame)");
  CHECK(decode_error(R"({"t":"ack","id":1,"ok":false,"error":null})") ==
        R"(field "error" is not a string in ack frame)");
  CHECK(decode_error(R"({"t":"hello","v":4294967296,"realm":"a","nonce":")" + nonce_a + R"("})") ==
        R"(field "v" is not an unsigned integer in hello frame)");
  CHECK(decode_error(R"({"t":"hello","v":1,"nonce":")" + nonce_a + R"("})") ==
        R"(missing field "realm" in hello frame)");
  CHECK(decode_error(R"({"t":"auth"})") == R"(missing field "mac" in auth frame)");
  CHECK(decode_error(R"({"t":"fetch","rid":1})") == R"(missing field "user" in fetch frame)");
  CHECK(decode_error(R"({"t":"fetched"})") == R"(missing field "rid" in fetched frame)");
  const std::string msg_head = R"({"t":"msg","id":1,"epoch":7,)";
  CHECK(decode_error(msg_head + R"("kind":"direct","from":"a","to":"b","text":"x","time":"t"})") ==
        R"(field "kind" is not "private" or "group" in msg frame)");
  CHECK(decode_error(msg_head + R"("kind":"group","from":"a","to":"b","time":"t"})") ==
        R"(missing field "text" in msg frame)");
  CHECK(decode_error(msg_head + R"("kind":"group","from":"a","to":"b","text":["x"],"time":"t"})") ==
        R"(field "text" is not a string in msg frame)");
  // The first bad field is the one reported.
  CHECK(
      decode_error(
          R"({"t":"msg","id":"x","epoch":7,"kind":"?","from":"","to":"b","text":"x","time":"t"})") ==
      R"(field "id" is not an unsigned integer in msg frame)");
}

TEST_CASE("decode rejects bad names, nonces and macs") {
  const auto fetch_for = [](const std::string& user) {
    return R"({"t":"fetch","rid":1,"user":")" + user + R"("})";
  };
  CHECK(decode(fetch_for(std::string(32, 'u'))).ok());
  CHECK(decode(fetch_for("A-Z_a.z0")).ok());
  for (const std::string& bad : {std::string(33, 'u'), std::string(), std::string("a b"),
                                 std::string("a|b"), std::string("é"), std::string("a\\u0000")}) {
    CAPTURE(bad);
    CHECK(decode_error(fetch_for(bad)) == R"(field "user" is not a valid name in fetch frame)");
  }
  const auto hello_with = [](const std::string& nonce) {
    return R"({"t":"hello","v":1,"realm":"alpha","nonce":")" + nonce + R"("})";
  };
  for (const std::string& bad :
       {std::string(63, 'a'), std::string(65, 'a'), std::string(63, 'a') + "g", std::string()}) {
    CAPTURE(bad);
    CHECK(decode_error(hello_with(bad)) == R"(field "nonce" is not 64 hex digits in hello frame)");
    CHECK(decode_error(R"({"t":"auth","mac":")" + bad + R"("})") ==
          R"(field "mac" is not 64 hex digits in auth frame)");
  }
}

TEST_CASE("decode bounds and checks text") {
  const auto msg_with_text = [](const std::string& text) {
    return R"({"t":"msg","id":1,"epoch":7,"kind":"private","from":"a","to":"b","text":")" + text +
           R"(","time":"2026-11-26T22:33:16Z"})";
  };
  CHECK(decode(msg_with_text(std::string(16 * 1024, 'x'))).ok());
  CHECK(decode_error(msg_with_text(std::string(16 * 1024 + 1, 'x'))) ==
        R"(field "text" is longer than 16384 bytes in msg frame)");
  // The limit is in bytes after unescaping, and the caller chooses it.
  CHECK(decode(msg_with_text("\\u00e9\\u00e9"), 4).ok());
  CHECK(decode_error(msg_with_text("\\u00e9\\u00e9x"), 4) ==
        R"(field "text" is longer than 4 bytes in msg frame)");
  // A lone low surrogate unescapes to bytes that are not UTF-8; so does an escaped NUL.
  CHECK(decode_error(msg_with_text("\\udc00")) ==
        R"(field "text" is not valid UTF-8 in msg frame)");
  CHECK(decode_error(msg_with_text("a\\u0000b")) ==
        R"(field "text" is not valid UTF-8 in msg frame)");
  CHECK(decode_error(R"({"t":"ack","id":1,"ok":false,"error":")" + std::string(20, 'e') + R"("})",
                     19) == R"(field "error" is longer than 19 bytes in ack frame)");
}

TEST_CASE("decode checks the timestamp shape") {
  const auto msg_with_time = [](const std::string& time) {
    return R"({"t":"msg","id":1,"epoch":7,"kind":"private","from":"a","to":"b","text":"x","time":")" +
           time + R"("})";
  };
  CHECK(decode(msg_with_time(std::string(64, '1'))).ok());
  for (const std::string& bad : {std::string(), std::string(65, '1'), std::string("2026\\n"),
                                 std::string("2026-11-26T22:33:16Z\\u00e9")}) {
    CAPTURE(bad);
    CHECK(decode_error(msg_with_time(bad)) == R"(field "time" is not a timestamp in msg frame)");
  }
}

TEST_CASE(
    "ids and epochs are checked at decode: 1..2^53-1 (regression: an id past SQLite's "
    "INTEGER stalled the realm's store)") {
  const auto msg_with_id = [](const std::string& id, const std::string& epoch = "7") {
    return R"({"t":"msg","id":)" + id + R"(,"epoch":)" + epoch +
           R"(,"kind":"private","from":"a","to":"b","text":"x","time":"t"})";
  };
  CHECK(decode(msg_with_id("1")).ok());
  CHECK(decode(msg_with_id("9007199254740991")).ok());  // 2^53 - 1
  for (const std::string bad :
       {"0", "9007199254740992", "9223372036854775808", "18446744073709551615"}) {
    CAPTURE(bad);
    CHECK(decode_error(msg_with_id(bad)) == R"(field "id" is not an id in 1..2^53-1 in msg frame)");
  }
  CHECK(decode_error(R"({"t":"ack","id":0,"ok":true})") ==
        R"(field "id" is not an id in 1..2^53-1 in ack frame)");
  CHECK(decode_error(R"({"t":"fetch","rid":0,"user":"a"})") ==
        R"(field "rid" is not an id in 1..2^53-1 in fetch frame)");
  CHECK(decode_error(R"({"t":"fetched","rid":9007199254740992})") ==
        R"(field "rid" is not an id in 1..2^53-1 in fetched frame)");
  // Epoch 0 is the legacy epoch (entries stored before epochs); past 2^53-1 is malformed.
  CHECK(decode(msg_with_id("1", "0")).ok());
  CHECK(decode_error(msg_with_id("1", "9007199254740992")) ==
        R"(field "epoch" is not a number in 0..2^53-1 in msg frame)");
  CHECK(decode_error(
            R"({"t":"msg","id":1,"kind":"private","from":"a","to":"b","text":"x","time":"t"})") ==
        R"(missing field "epoch" in msg frame)");
}

TEST_CASE("routing frames survive encode then decode") {
  const std::vector<Frame> frames = {
      Route{.via_others = false,
            .routes = {{"beta"}, {"beta", "gamma", "delta"}},
            .keys = {{"beta", std::string(64, 'b')}, {"delta", std::string(64, 'd')}}},
      Route{.via_others = true, .routes = {}, .keys = {}},
      Fwd{.id = 7,
          .origin = "alpha",
          .dest = "echo",
          .epoch = 9007199254740991u,
          .seq = 3,
          .hops = 2,
          .kind = MessageKind::user,
          .from = "messi",
          .to = "jokowi",
          .text = "halo 日本",
          .time = "2026-11-26T22:33:16Z",
          .oid = 41,
          .re_epoch = 0,
          .about = "",
          .sig = std::string(128, 'a')},
      Fwd{.id = 8,
          .origin = "echo",
          .dest = "alpha",
          .epoch = 5,
          .seq = 1,
          .hops = 0,
          .kind = MessageKind::answer,
          .from = "jokowi",
          .to = "messi",
          .text = "User tidak ditemukan",
          .time = "2026-11-26T22:33:16Z",
          .oid = 41,
          .re_epoch = 9,
          .about = "echo",
          .sig = ""},
      Fack{.id = 7},
      RFetch{.rid = 1, .origin = "alpha", .dest = "echo", .hops = 3, .user = "messi"},
      RFetched{.rid = 1, .origin = "echo", .dest = "alpha", .hops = 0},
  };
  for (const Frame& frame : frames) {
    const DecodeResult decoded = decode(encode(frame));
    REQUIRE_MESSAGE(decoded.ok(), encode(frame) << ": " << decoded.error);
    CHECK(*decoded.frame == frame);
  }
  CHECK(encode(Route{.via_others = true, .routes = {{"b"}, {"b", "c"}}, .keys = {}}) ==
        R"({"t":"route","via_others":true,"routes":[["b"],["b","c"]]})");
}

TEST_CASE("routing frames are checked at decode like every frame") {
  // Paths: arrays of 1..16 valid names.
  CHECK(decode_error(R"({"t":"route","routes":[[]]})").find("routes") != std::string::npos);
  CHECK(decode_error(R"({"t":"route","routes":[["b c"]]})").find("routes") != std::string::npos);
  CHECK(decode_error(R"({"t":"route","routes":[[1]]})").find("routes") != std::string::npos);
  CHECK(decode_error(R"({"t":"route","routes":"b"})").find("routes") != std::string::npos);
  std::string long_path = R"({"t":"route","routes":[["a0")";
  for (int i = 1; i <= 16; ++i) long_path += std::string(R"(,"a)").append(std::to_string(i)) + "\"";
  CHECK(decode_error(long_path + "]]}").find("routes") != std::string::npos);
  CHECK(decode(R"({"t":"route","routes":[["b"]]})").ok());  // via_others defaults to true
  // Keys: realm names with 64 hex digits each; a signature: 128 hex digits.
  CHECK(decode_error(R"({"t":"route","routes":[],"keys":{"b":"00"}})").find("keys") !=
        std::string::npos);
  CHECK(
      decode_error(R"({"t":"route","routes":[],"keys":{"b c":")" + std::string(64, '0') + R"("}})")
          .find("keys") != std::string::npos);

  const std::string fwd =
      R"({"t":"fwd","id":1,"origin":"a","dest":"e","epoch":1,"seq":1,"hops":HOPS,"kind":"KIND",)"
      R"("from":"messi","to":"jokowi","text":"hi","time":"t","oid":1,"re_epoch":0})";
  auto with = [&](std::string hops, std::string kind) {
    std::string line = fwd;
    line.replace(line.find("HOPS"), 4, hops);
    line.replace(line.find("KIND"), 4, kind);
    return line;
  };
  CHECK(decode(with("16", "group")).ok());
  CHECK(decode_error(with("17", "private")).find("hops") != std::string::npos);
  CHECK(decode_error(with("1", "shout")).find("kind") != std::string::npos);
  CHECK(decode_error(R"({"t":"fwd","id":1})").find("origin") != std::string::npos);
  std::string bad_sig = with("1", "private");
  bad_sig.insert(bad_sig.size() - 1, R"(,"sig":"abc")");
  CHECK(decode_error(bad_sig).find("sig") != std::string::npos);
  CHECK(decode_error(R"({"t":"fack","id":0})").find("id") != std::string::npos);
  CHECK(decode_error(R"({"t":"rfetch","rid":1,"origin":"a","dest":"e","hops":0,"user":"no one"})")
            .find("user") != std::string::npos);
}

TEST_CASE("a msg is never an answer; a fwd may be") {
  const std::string msg =
      R"({"t":"msg","id":1,"epoch":7,"kind":"answer","from":"a","to":"b","text":"x","time":"t"})";
  CHECK(decode_error(msg) == R"(field "kind" is not "private" or "group" in msg frame)");
  const DecodeResult answer = decode(
      R"({"t":"fwd","id":1,"origin":"a","dest":"e","epoch":1,"seq":1,"hops":0,"kind":"answer",)"
      R"("from":"messi","to":"jokowi","text":"","time":"t","oid":1,"re_epoch":0})");
  REQUIRE(answer.ok());
  CHECK(std::get<Fwd>(*answer.frame).kind == MessageKind::answer);
  CHECK(kind_named("private") == MessageKind::user);
  CHECK(kind_named("group") == MessageKind::group);
  CHECK_FALSE(kind_named("user"));
}

TEST_CASE("the realm logic's frames are every frame but the handshake's and the keepalive") {
  CHECK(peer_frame(Msg{.id = 1,
                       .epoch = 7,
                       .kind = MessageKind::group,
                       .from = "a",
                       .to = "g",
                       .text = "x",
                       .time = "t"}) == PeerFrame(Msg{.id = 1,
                                                      .epoch = 7,
                                                      .kind = MessageKind::group,
                                                      .from = "a",
                                                      .to = "g",
                                                      .text = "x",
                                                      .time = "t"}));
  CHECK(peer_frame(Fack{.id = 3}) == PeerFrame(Fack{.id = 3}));
  CHECK_FALSE(peer_frame(Hello{}));
  CHECK_FALSE(peer_frame(Auth{.mac = std::string(64, 'a')}));
  CHECK_FALSE(peer_frame(Ping{}));
  CHECK_FALSE(peer_frame(Pong{}));
  // Encoded as a link frame, a peer frame reads back as itself.
  const PeerFrame ack = Ack{.id = 9, .ok = false, .error = "User tidak ditemukan"};
  CHECK(peer_frame(*decode(encode(link_frame(ack))).frame) == ack);
}
