#include "federation/frames.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <type_traits>
#include <utility>

#include "core/route_table.hpp"
#include "protocol/command_parser.hpp"
#include "protocol/names.hpp"

namespace chat::federation {

using namespace frames;  // the frames this codec reads and writes

namespace {

constexpr std::size_t hex_token_chars = 64;  // nonce and mac: 32 bytes as hex
constexpr std::size_t max_time_chars = 64;

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_printable_ascii(char c) {
  return c >= 0x20 && c <= 0x7e;
}

// Reads typed fields of one frame object. The first problem found is kept as the error;
// after it every read returns an empty value, so a frame is built in one expression and
// checked once.
class FieldReader {
 public:
  FieldReader(const rapidjson::Value& object, std::size_t max_text_bytes)
      : object_(object), max_text_bytes_(max_text_bytes) {}

  const std::string& error() const { return error_; }

  std::uint64_t uint64(const char* key) {
    const rapidjson::Value* value = typed(key, &rapidjson::Value::IsUint64, "an unsigned integer");
    return value != nullptr ? value->GetUint64() : 0;
  }

  // An id or rid: 1..2^53-1 (0 and larger numbers are malformed, docs/protocol.md §2).
  std::uint64_t id(const char* key) {
    const std::uint64_t value = uint64(key);
    if (error_.empty() && (value == 0 || value > max_wire_number)) fail(key, "an id in 1..2^53-1");
    return error_.empty() ? value : 0;
  }

  // An epoch: 0..2^53-1; absent reads as 0 when `optional` (a v1 hello has none).
  std::uint64_t epoch(const char* key, bool optional = false) {
    if (optional && error_.empty() && object_.FindMember(key) == object_.MemberEnd()) return 0;
    const std::uint64_t value = uint64(key);
    if (error_.empty() && value > max_wire_number) fail(key, "a number in 0..2^53-1");
    return error_.empty() ? value : 0;
  }

  std::uint32_t uint32(const char* key) {
    const rapidjson::Value* value = typed(key, &rapidjson::Value::IsUint, "an unsigned integer");
    return value != nullptr ? value->GetUint() : 0;
  }

  bool boolean(const char* key) {
    const rapidjson::Value* value = typed(key, &rapidjson::Value::IsBool, "a boolean");
    return value != nullptr && value->GetBool();
  }

  std::string string(const char* key) {
    const rapidjson::Value* value = typed(key, &rapidjson::Value::IsString, "a string");
    // Length-aware: a "\u0000" escape puts a NUL inside the string.
    return value != nullptr ? std::string(value->GetString(), value->GetStringLength())
                            : std::string{};
  }

  std::string name(const char* key) {
    std::string value = string(key);
    const bool valid = protocol::is_valid_name(value);
    return require(key, std::move(value), valid, "a valid name");
  }

  std::string hex_token(const char* key) {
    std::string value = string(key);
    const bool valid =
        value.size() == hex_token_chars && std::all_of(value.begin(), value.end(), is_hex_digit);
    return require(key, std::move(value), valid, "64 hex digits");
  }

  std::string text(const char* key) {
    std::string value = string(key);
    // Checked after unescaping: RapidJSON turns a lone "\udc00" into bytes that are not UTF-8.
    const bool utf8 = protocol::is_valid_utf8(value);
    value = require(key, std::move(value), utf8, "valid UTF-8");
    if (error_.empty() && value.size() > max_text_bytes_) {
      error_ = "field \"" + std::string(key) + "\" is longer than " +
               std::to_string(max_text_bytes_) + " bytes";
      return {};
    }
    return value;
  }

  // Absent is fine; present must be a valid text.
  std::optional<std::string> optional_text(const char* key) {
    if (!error_.empty() || object_.FindMember(key) == object_.MemberEnd()) return std::nullopt;
    return text(key);
  }

  std::string time(const char* key) {
    std::string value = string(key);
    const bool valid = !value.empty() && value.size() <= max_time_chars &&
                       std::all_of(value.begin(), value.end(), is_printable_ascii);
    return require(key, std::move(value), valid, "a timestamp");
  }

  // A hop count: 0..max_route_path (more is a loop or a lie).
  std::uint64_t hops(const char* key) {
    const std::uint64_t value = uint64(key);
    if (error_.empty() && value > core::max_route_path) fail(key, "a hop count in 0..16");
    return error_.empty() ? value : 0;
  }

  // An optional string of `digits` hex digits: absent reads as empty.
  std::string optional_hex(const char* key, std::size_t digits) {
    if (!error_.empty() || object_.FindMember(key) == object_.MemberEnd()) return {};
    std::string value = string(key);
    const bool valid =
        value.size() == digits && std::all_of(value.begin(), value.end(), is_hex_digit);
    return require(key, std::move(value), valid, std::to_string(digits) + " hex digits");
  }

  // An optional object of realm name -> 64 hex digits (at most max_routes_per_announcement).
  std::map<std::string, std::string> keys(const char* key) {
    std::map<std::string, std::string> keys;
    if (!error_.empty() || object_.FindMember(key) == object_.MemberEnd()) return keys;
    const rapidjson::Value* value = typed(key, &rapidjson::Value::IsObject, "an object");
    if (value == nullptr) return keys;
    if (value->MemberCount() > core::max_routes_per_announcement) {
      fail(key, "at most 1024 keys");
      return {};
    }
    for (const auto& member : value->GetObject()) {
      const std::string_view name(member.name.GetString(), member.name.GetStringLength());
      const bool valid_key =
          member.value.IsString() && member.value.GetStringLength() == 64 &&
          std::all_of(member.value.GetString(), member.value.GetString() + 64, is_hex_digit);
      if (!protocol::is_valid_name(name) || !valid_key) {
        fail(key, "realm names with 64 hex digits each");
        return {};
      }
      keys.emplace(std::string(name), std::string(member.value.GetString(), 64));
    }
    return keys;
  }

  // An optional name: absent reads as empty.
  std::string optional_name(const char* key) {
    if (!error_.empty() || object_.FindMember(key) == object_.MemberEnd()) return {};
    return name(key);
  }

  bool optional_boolean(const char* key, bool absent) {
    if (!error_.empty() || object_.FindMember(key) == object_.MemberEnd()) return absent;
    return boolean(key);
  }

  // An array of paths, each an array of 1..max_route_path valid names; at most
  // max_routes_per_announcement paths.
  std::vector<std::vector<std::string>> paths(const char* key) {
    const rapidjson::Value* value = typed(key, &rapidjson::Value::IsArray, "an array");
    std::vector<std::vector<std::string>> paths;
    if (value == nullptr) return paths;
    if (value->Size() > core::max_routes_per_announcement) {
      fail(key, "at most 1024 paths");
      return {};
    }
    for (const rapidjson::Value& path : value->GetArray()) {
      if (!path.IsArray() || path.Empty() || path.Size() > core::max_route_path) {
        fail(key, "paths of 1..16 names");
        return {};
      }
      std::vector<std::string>& names = paths.emplace_back();
      for (const rapidjson::Value& name : path.GetArray()) {
        if (!name.IsString() ||
            !protocol::is_valid_name(std::string_view(name.GetString(), name.GetStringLength()))) {
          fail(key, "paths of valid names");
          return {};
        }
        names.emplace_back(name.GetString(), name.GetStringLength());
      }
    }
    return paths;
  }

  // "private" or "group"; or "answer" too (a fwd's kind) when `answer`.
  MessageKind kind(const char* key, bool answer) {
    const std::optional<MessageKind> kind = kind_named(string(key));
    const bool valid = kind && (answer || *kind != MessageKind::answer);
    if (error_.empty() && !valid) {
      fail(key, answer ? "\"private\", \"group\" or \"answer\"" : "\"private\" or \"group\"");
    }
    return kind.value_or(MessageKind::user);
  }

 private:
  // The member `key` if present and of the type `is_type` checks; otherwise records an error.
  const rapidjson::Value* typed(const char* key, bool (rapidjson::Value::*is_type)() const,
                                std::string_view type_desc) {
    if (!error_.empty()) return nullptr;
    const auto member = object_.FindMember(key);
    if (member == object_.MemberEnd()) {
      error_ = "missing field \"" + std::string(key) + "\"";
      return nullptr;
    }
    if (!(member->value.*is_type)()) {
      fail(key, type_desc);
      return nullptr;
    }
    return &member->value;
  }

  // `value` when `valid`; otherwise records "field is not <desc>" and returns empty.
  std::string require(const char* key, std::string value, bool valid, std::string_view desc) {
    if (!error_.empty()) return {};
    if (!valid) {
      fail(key, desc);
      return {};
    }
    return value;
  }

  void fail(const char* key, std::string_view desc) {
    error_ = "field \"" + std::string(key) + "\" is not " + std::string(desc);
  }

  const rapidjson::Value& object_;
  std::size_t max_text_bytes_;
  std::string error_;
};

// One reader per frame type. Designated initializers evaluate in order, so the first bad
// field is the one reported.
Frame read_hello(FieldReader& f) {
  return Hello{.v = f.uint32("v"),
               .realm = f.name("realm"),
               .nonce = f.hex_token("nonce"),
               .epoch = f.epoch("epoch", true),
               .max_text = f.epoch("max_text", true)};
}

Frame read_auth(FieldReader& f) {
  return Auth{.mac = f.hex_token("mac")};
}

Frame read_msg(FieldReader& f) {
  return Msg{.id = f.id("id"),
             .epoch = f.epoch("epoch"),
             .kind = f.kind("kind", false),
             .from = f.name("from"),
             .to = f.name("to"),
             .text = f.text("text"),
             .time = f.time("time")};
}

Frame read_ack(FieldReader& f) {
  return Ack{.id = f.id("id"), .ok = f.boolean("ok"), .error = f.optional_text("error")};
}

Frame read_fetch(FieldReader& f) {
  return Fetch{.rid = f.id("rid"), .user = f.name("user")};
}

Frame read_fetched(FieldReader& f) {
  return Fetched{.rid = f.id("rid")};
}

Frame read_route(FieldReader& f) {
  return Route{.via_others = f.optional_boolean("via_others", true),
               .routes = f.paths("routes"),
               .keys = f.keys("keys")};
}

Frame read_fwd(FieldReader& f) {
  return Fwd{.id = f.id("id"),
             .origin = f.name("origin"),
             .dest = f.name("dest"),
             .epoch = f.epoch("epoch"),
             .seq = f.id("seq"),
             .hops = f.hops("hops"),
             .kind = f.kind("kind", true),
             .from = f.name("from"),
             .to = f.name("to"),
             .text = f.text("text"),
             .time = f.time("time"),
             .oid = f.id("oid"),
             .re_epoch = f.epoch("re_epoch"),
             .about = f.optional_name("about"),
             .sig = f.optional_hex("sig", 128)};
}

Frame read_fack(FieldReader& f) {
  return Fack{.id = f.id("id")};
}

Frame read_rfetch(FieldReader& f) {
  return RFetch{.rid = f.id("rid"),
                .origin = f.name("origin"),
                .dest = f.name("dest"),
                .hops = f.hops("hops"),
                .user = f.name("user")};
}

Frame read_rfetched(FieldReader& f) {
  return RFetched{.rid = f.id("rid"),
                  .origin = f.name("origin"),
                  .dest = f.name("dest"),
                  .hops = f.hops("hops")};
}

struct FrameReader {
  std::string_view type;
  Frame (*read)(FieldReader&);
};

// The reader of each "t".
constexpr FrameReader frame_readers[] = {
    {Hello::type, read_hello},
    {Auth::type, read_auth},
    {Msg::type, read_msg},
    {Ack::type, read_ack},
    {Fetch::type, read_fetch},
    {Fetched::type, read_fetched},
    {Route::type, read_route},
    {Fwd::type, read_fwd},
    {Fack::type, read_fack},
    {RFetch::type, read_rfetch},
    {RFetched::type, read_rfetched},
    {Ping::type, [](FieldReader&) -> Frame { return Ping{}; }},
    {Pong::type, [](FieldReader&) -> Frame { return Pong{}; }},
};

// Nothing for an unknown type.
std::optional<Frame> read_frame(std::string_view type, FieldReader& fields) {
  for (const FrameReader& reader : frame_readers) {
    if (reader.type == type) return reader.read(fields);
  }
  return std::nullopt;
}

// Writes the fields that follow "t", per frame type.
class FieldWriter {
 public:
  explicit FieldWriter(rapidjson::Writer<rapidjson::StringBuffer>& writer) : writer_(writer) {}

  void operator()(const Hello& hello) {
    number("v", hello.v);
    string("realm", hello.realm);
    string("nonce", hello.nonce);
    number("epoch", hello.epoch);
    number("max_text", hello.max_text);
  }
  void operator()(const Auth& auth) { string("mac", auth.mac); }
  void operator()(const Msg& msg) {
    number("id", msg.id);
    number("epoch", msg.epoch);
    string("kind", kind_name(msg.kind));
    string("from", msg.from);
    string("to", msg.to);
    string("text", msg.text);
    string("time", msg.time);
  }
  void operator()(const Ack& ack) {
    number("id", ack.id);
    writer_.Key("ok");
    writer_.Bool(ack.ok);
    if (ack.error) string("error", *ack.error);
  }
  void operator()(const Fetch& fetch) {
    number("rid", fetch.rid);
    string("user", fetch.user);
  }
  void operator()(const Fetched& fetched) { number("rid", fetched.rid); }
  void operator()(const Route& route) {
    writer_.Key("via_others");
    writer_.Bool(route.via_others);
    writer_.Key("routes");
    writer_.StartArray();
    for (const auto& path : route.routes) {
      writer_.StartArray();
      for (const std::string& name : path) {
        writer_.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
      }
      writer_.EndArray();
    }
    writer_.EndArray();
    if (!route.keys.empty()) {
      writer_.Key("keys");
      writer_.StartObject();
      for (const auto& [name, key] : route.keys) string(name.c_str(), key);
      writer_.EndObject();
    }
  }
  void operator()(const Fwd& fwd) {
    number("id", fwd.id);
    string("origin", fwd.origin);
    string("dest", fwd.dest);
    number("epoch", fwd.epoch);
    number("seq", fwd.seq);
    number("hops", fwd.hops);
    string("kind", kind_name(fwd.kind));
    string("from", fwd.from);
    string("to", fwd.to);
    string("text", fwd.text);
    string("time", fwd.time);
    number("oid", fwd.oid);
    number("re_epoch", fwd.re_epoch);
    if (!fwd.about.empty()) string("about", fwd.about);
    if (!fwd.sig.empty()) string("sig", fwd.sig);
  }
  void operator()(const Fack& fack) { number("id", fack.id); }
  void operator()(const RFetch& fetch) {
    number("rid", fetch.rid);
    string("origin", fetch.origin);
    string("dest", fetch.dest);
    number("hops", fetch.hops);
    string("user", fetch.user);
  }
  void operator()(const RFetched& fetched) {
    number("rid", fetched.rid);
    string("origin", fetched.origin);
    string("dest", fetched.dest);
    number("hops", fetched.hops);
  }
  void operator()(const Ping&) {}
  void operator()(const Pong&) {}

 private:
  void string(const char* key, std::string_view value) {
    writer_.Key(key);
    writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }
  void number(const char* key, std::uint64_t value) {
    writer_.Key(key);
    writer_.Uint64(value);
  }

  rapidjson::Writer<rapidjson::StringBuffer>& writer_;
};

DecodeResult failure(std::string error) {
  return DecodeResult{std::nullopt, std::move(error)};
}

}  // namespace

std::string_view type_name(const Frame& frame) {
  return std::visit([](const auto& f) { return std::decay_t<decltype(f)>::type; }, frame);
}

std::string encode(const Frame& frame) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("t");
  const std::string_view type = type_name(frame);
  writer.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
  std::visit(FieldWriter{writer}, frame);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

DecodeResult decode(std::string_view line, std::size_t max_text_bytes) {
  if (!protocol::is_valid_utf8(line)) return failure("not valid UTF-8");

  rapidjson::Document document;
  // Iterative: deeply nested input cannot exhaust the stack.
  document.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
  if (document.HasParseError()) {
    return failure(std::string("malformed JSON: ") +
                   rapidjson::GetParseError_En(document.GetParseError()) + " (at byte " +
                   std::to_string(document.GetErrorOffset()) + ")");
  }
  const rapidjson::Value& root = document;
  if (!root.IsObject()) return failure("not a JSON object");

  FieldReader fields(root, max_text_bytes);
  const std::string type = fields.string("t");
  if (!fields.error().empty()) return failure(fields.error());
  std::optional<Frame> frame = read_frame(type, fields);
  if (!frame) return failure("unknown frame type");
  if (!fields.error().empty()) return failure(fields.error() + " in " + type + " frame");
  return DecodeResult{std::move(frame), {}};
}

}  // namespace chat::federation
