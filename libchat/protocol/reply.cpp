#include "protocol/reply.hpp"

#include <rapidjson/allocators.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <cstring>

#include "protocol/messages.hpp"

namespace chat::protocol::reply {
namespace {

constexpr std::string_view ok_status = "OK";
constexpr std::string_view error_status = "ERROR";

using Allocator = rapidjson::MemoryPoolAllocator<>;
using Buffer = rapidjson::GenericStringBuffer<rapidjson::UTF8<>, Allocator>;

// A reply with room for the terminator the connection appends: appending it does not
// reallocate (one allocation per reply, not two).
std::string with_room_for_terminator(std::string_view reply) {
  std::string out;
  out.reserve(reply.size() + terminator.size());
  out.assign(reply);
  return out;
}

// True when `text` is written into a JSON string as it is: no control byte, quote or backslash
// (RapidJSON's escape table's only entries). No early exit, so the loop is vectorized.
bool needs_no_escaping(std::string_view text) {
  bool escaped = false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    escaped |= (byte < 0x20) | (byte == '"') | (byte == '\\');
  }
  return !escaped;
}

// One reply object, written compact. Strings go in with their lengths, so any byte is kept
// and control characters (CR and LF among them) come out escaped.
class ReplyWriter {
 public:
  explicit ReplyWriter(std::string_view status) {
    writer_.StartObject();
    field("status", status);
  }
  // A pushed event rather than a reply: {"event":NAME,...}, no "status".
  struct EventTag {};
  static constexpr EventTag event{};
  ReplyWriter(EventTag, std::string_view name) {
    writer_.StartObject();
    field("event", name);
  }

  void key(std::string_view name) { put_string(name); }
  void string(std::string_view value) { put_string(value); }

  void field(std::string_view name, std::string_view value) {
    key(name);
    string(value);
  }
  // Distinct names, not overloads: a string literal would silently pick a bool overload.
  void flag(std::string_view name, bool value) {
    key(name);
    writer_.Bool(value);
  }
  void number(std::string_view name, std::uint64_t value) {
    key(name);
    writer_.Uint64(value);
  }

  void start_object() { writer_.StartObject(); }
  void end_object() { writer_.EndObject(); }
  void start_array() { writer_.StartArray(); }
  void end_array() { writer_.EndArray(); }

  std::string finish() {
    writer_.EndObject();
    return with_room_for_terminator(std::string_view(buffer_.GetString(), buffer_.GetSize()));
  }

 private:
  static rapidjson::SizeType size_of(std::string_view s) {
    return static_cast<rapidjson::SizeType>(s.size());
  }

  // A string or key. RapidJSON's String() stores byte by byte through the buffer's top
  // pointer, which the compiler reloads after every store (a char may alias it): about a fifth
  // of a history page's CPU went there. A plain string is copied whole instead: RawValue writes
  // the separator and the opening quote and counts the value (the writer keeps no state about
  // a string's bytes), then the rest goes straight into the buffer it writes to. Strings with
  // something to escape take RapidJSON's path; the bytes are the same either way (unit_protocol).
  void put_string(std::string_view s) {
    if (!needs_no_escaping(s)) {
      writer_.String(s.data(), size_of(s), true);
      return;
    }
    writer_.RawValue("\"", 1, rapidjson::kStringType);
    char* out = buffer_.Push(s.size() + 1);
    if (!s.empty()) std::memcpy(out, s.data(), s.size());
    out[s.size()] = '"';
  }

  // The output and the writer's nesting stack start in this arena, not on the heap: a short
  // reply (most are) costs one allocation, the returned string. Longer ones grow into heap
  // chunks that the allocator frees with the writer.
  alignas(std::max_align_t) char arena_[2048];
  Allocator allocator_{arena_, sizeof arena_};
  Buffer buffer_{&allocator_};
  rapidjson::Writer<Buffer, rapidjson::UTF8<>, rapidjson::UTF8<>, Allocator> writer_{buffer_,
                                                                                     &allocator_};
};

// {"status":S,"message":M} for an M with nothing to escape (every fixed message of
// protocol::text): the same bytes RapidJSON writes (unit_protocol checks), without setting a
// writer up, which cost half of a `send` reply's instructions.
std::string status_message(std::string_view status, std::string_view message) {
  constexpr std::string_view head = R"({"status":")", middle = R"(","message":")", tail = R"("})";
  std::string out;
  out.reserve(head.size() + status.size() + middle.size() + message.size() + tail.size() +
              terminator.size());
  out.append(head).append(status).append(middle).append(message).append(tail);
  return out;
}

void write_message(ReplyWriter& out, const MessageView& m) {
  out.start_object();
  out.number("id", m.id);
  out.field("msg_from", m.from);
  out.field("msg_to", m.to);
  out.field("msg", m.text);
  out.field("realm", m.realm);
  out.field("time", m.time);
  if (!m.group.empty()) out.field("group", m.group);
  if (m.bounce) out.flag("bounce", true);
  out.end_object();
}

// {"status":"OK","message":MESSAGE,KEY:VALUE}
std::string ok_message_and(std::string_view message, std::string_view key, std::string_view value) {
  ReplyWriter out(ok_status);
  out.field("message", message);
  out.field(key, value);
  return out.finish();
}

// "KEY":[ITEM,...], each item written by `write_item`.
template <typename Item, typename WriteItem>
void write_array(ReplyWriter& out, std::string_view key, const std::vector<Item>& items,
                 WriteItem write_item) {
  out.key(key);
  out.start_array();
  for (const Item& item : items) write_item(out, item);
  out.end_array();
}

// "messages":{SENDER:[MSG,...],...}
void write_messages(ReplyWriter& out, const std::vector<SenderMessages>& by_sender) {
  out.key("messages");
  out.start_object();
  for (const SenderMessages& sender : by_sender) {
    write_array(out, sender.sender, sender.messages, write_message);
  }
  out.end_object();
}

}  // namespace

std::size_t json_string_bytes(std::string_view text) {
  std::size_t bytes = 2;  // the quotes
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20) {
      bytes += 6;
    } else if (c == '"' || c == '\\') {
      bytes += 2;
    } else {
      ++bytes;
    }
  }
  return bytes;
}

std::size_t message_bytes(const MessageView& message) {
  // The keys, punctuation and a 20-digit id take under 128 bytes.
  constexpr std::size_t fixed = 128;
  return fixed + json_string_bytes(message.from) + json_string_bytes(message.to) +
         json_string_bytes(message.text) + json_string_bytes(message.realm) +
         json_string_bytes(message.time) + json_string_bytes(message.group);
}

std::string error(std::string_view message) {
  if (needs_no_escaping(message)) return status_message(error_status, message);
  ReplyWriter out(error_status);
  out.field("message", message);
  return out.finish();
}

std::string ok_message(std::string_view message) {
  if (needs_no_escaping(message)) return status_message(ok_status, message);
  ReplyWriter out(ok_status);
  out.field("message", message);
  return out.finish();
}

std::string ok_token(std::string_view token) {
  ReplyWriter out(ok_status);
  out.field("tokenid", token);
  return out.finish();
}

std::string ok_registered(std::string_view token) {
  return ok_message_and(text::user_registered, "tokenid", token);
}

std::string ok_inbox(const std::vector<SenderMessages>& by_sender) {
  ReplyWriter out(ok_status);
  write_messages(out, by_sender);
  return out.finish();
}

std::string ok_realm_inbox(std::string_view realm, const std::vector<SenderMessages>& by_sender,
                           bool synced) {
  ReplyWriter out(ok_status);
  out.field("realm", realm);
  write_messages(out, by_sender);
  out.flag("synced", synced);
  return out.finish();
}

std::string ok_info(const UserInfo& info) {
  ReplyWriter out(ok_status);
  out.key("data");
  out.start_object();
  out.field("username", info.username);
  out.field("nama", info.nama);
  out.field("negara", info.negara);
  out.field("realm", info.realm);
  out.flag("online", info.online);
  out.end_object();
  return out.finish();
}

std::string ok_realm_added(std::string_view state) {
  return ok_message_and(text::realm_added, "state", state);
}

std::string ok_queued() {
  ReplyWriter out(ok_status);
  out.field("message", text::queued_for_realm);
  out.flag("queued", true);
  return out.finish();
}

std::string event_message(const MessageView& message) {
  ReplyWriter out(ReplyWriter::event, "message");
  out.key("message");
  write_message(out, message);
  return out.finish();
}

std::string ok_realms(const std::vector<RealmView>& realms) {
  ReplyWriter out(ok_status);
  write_array(out, "realms", realms, [](ReplyWriter& item, const RealmView& realm) {
    item.start_object();
    item.field("name", realm.name);
    item.field("state", realm.state);
    item.field("address", realm.address);
    item.number("queued", realm.queued);
    item.field("last_error", realm.last_error);
    if (!realm.via.empty()) {
      item.field("via", realm.via);
      item.number("distance", realm.distance);
    }
    item.end_object();
  });
  return out.finish();
}

std::string ok_history(const std::vector<MessageView>& messages, bool more) {
  ReplyWriter out(ok_status);
  write_array(out, "messages", messages, write_message);
  out.flag("more", more);
  return out.finish();
}

std::string ok_conversations(const std::vector<ConversationEntry>& conversations) {
  ReplyWriter out(ok_status);
  write_array(out, "conversations", conversations,
              [](ReplyWriter& item, const ConversationEntry& c) {
                item.start_object();
                item.field("kind", c.kind);
                item.field("name", c.name);
                item.field("realm", c.realm);
                item.number("last_id", c.last_id);
                item.field("last_time", c.last_time);
                item.number("unread", c.unread);
                item.end_object();
              });
  return out.finish();
}

}  // namespace chat::protocol::reply
