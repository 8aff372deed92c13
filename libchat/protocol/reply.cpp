#include "protocol/reply.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstddef>
#include <cstdint>

#include "protocol/messages.hpp"

namespace chat::protocol::reply {
namespace {

constexpr std::string_view ok_status = "OK";
constexpr std::string_view error_status = "ERROR";

// Appends `text` as a JSON string, escaped exactly as RapidJSON's Writer escapes (its escape
// table): control bytes as \b \t \n \f \r or \u00XX (upper-case hex), '"' and '\\' with a
// backslash, every other byte (UTF-8, '/', DEL) as it is. Runs of plain bytes go in one append.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex_digits[] = "0123456789ABCDEF";
  out += '"';
  const char* run = text.data();
  const char* const end = text.data() + text.size();
  for (const char* at = run; at != end; ++at) {
    const auto byte = static_cast<unsigned char>(*at);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out.append(run, static_cast<std::size_t>(at - run));
    run = at + 1;
    out += '\\';
    switch (byte) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '\b':
        out += 'b';
        break;
      case '\t':
        out += 't';
        break;
      case '\n':
        out += 'n';
        break;
      case '\f':
        out += 'f';
        break;
      case '\r':
        out += 'r';
        break;
      default:
        out += "u00";
        out += hex_digits[byte >> 4];
        out += hex_digits[byte & 0xF];
    }
  }
  out.append(run, static_cast<std::size_t>(end - run));
  out += '"';
}

// One reply object, written compact, straight into the string it returns. Strings go in with
// their lengths, so any byte is kept and control characters (CR and LF among them) come out
// escaped. Not RapidJSON's Writer, though it writes the same bytes (unit_protocol compares
// them): the Writer puts each byte of a string through its escape table one call at a time (its
// SIMD scan serves only its default buffer), into a buffer copied again into the reply; that
// was a quarter of a history reader's CPU per page (docs/performance.md "History, session 8").
class ReplyWriter {
 public:
  // `expected_bytes`: about how long the reply will be (it is reserved at once).
  explicit ReplyWriter(std::string_view status, std::size_t expected_bytes = 0) {
    begin("status", status, expected_bytes);
  }
  // A pushed event rather than a reply: {"event":NAME,...}, no "status".
  struct EventTag {};
  static constexpr EventTag event{};
  ReplyWriter(EventTag, std::string_view name, std::size_t expected_bytes = 0) {
    begin("event", name, expected_bytes);
  }

  void key(std::string_view name) {
    separate();
    append_json_string(out_, name);
    out_ += ':';
    after_key_ = true;
  }
  void string(std::string_view value) {
    begin_value();
    append_json_string(out_, value);
  }

  void field(std::string_view name, std::string_view value) {
    key(name);
    string(value);
  }
  // Distinct names, not overloads: a string literal would silently pick a bool overload.
  void flag(std::string_view name, bool value) {
    key(name);
    begin_value();
    out_ += value ? "true" : "false";
  }
  void number(std::string_view name, std::uint64_t value) {
    key(name);
    begin_value();
    char digits[20];
    const auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
    (void)error;  // 20 digits hold any std::uint64_t
    out_.append(digits, end);
  }

  void start_object() { open('{'); }
  void end_object() { close('}'); }
  void start_array() { open('['); }
  void end_array() { close(']'); }

  std::string finish() {
    end_object();
    // Room for the terminator the connection appends: appending it does not reallocate.
    out_.reserve(out_.size() + terminator.size());
    return std::move(out_);
  }

 private:
  // {"KEY":VALUE, with the room reserved.
  void begin(std::string_view key, std::string_view value, std::size_t expected_bytes) {
    out_.reserve(std::max<std::size_t>(expected_bytes, 128) + terminator.size());
    start_object();
    field(key, value);
  }

  // A value's comma: none right after its key, nor for the first item of an object or array.
  void begin_value() {
    if (after_key_) {
      after_key_ = false;
    } else {
      separate();
    }
  }
  void separate() {
    const std::uint64_t level = std::uint64_t{1} << depth_;
    if ((has_items_ & level) != 0) out_ += ',';
    has_items_ |= level;
  }
  void open(char bracket) {
    begin_value();
    out_ += bracket;
    ++depth_;
    assert(depth_ < 64);
    has_items_ &= ~(std::uint64_t{1} << depth_);
  }
  void close(char bracket) {
    out_ += bracket;
    --depth_;
  }

  std::string out_;
  unsigned depth_ = 0;           // nesting: 0 outside the reply object
  std::uint64_t has_items_ = 0;  // bit d: the object or array at depth d has an item already
  bool after_key_ = false;       // a key was written, its value not yet
};

// True when `text` is written into a JSON string as it is (nothing to escape).
bool needs_no_escaping(std::string_view text) {
  return json_string_bytes(text) == text.size() + 2;
}

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

namespace {

// About how long a message's JSON is: its fields as they are plus the keys (an escape, rare,
// grows the reply once). Not message_bytes(), which reads every byte to be exact.
std::size_t message_estimate(const MessageView& m) {
  constexpr std::size_t keys_and_id = 128;
  return keys_and_id + m.from.size() + m.to.size() + m.text.size() + m.realm.size() +
         m.time.size() + m.group.size();
}

// Room for the messages of a reply.
std::size_t messages_estimate(const std::vector<MessageView>& messages) {
  std::size_t bytes = 0;
  for (const MessageView& message : messages) bytes += message_estimate(message);
  return bytes;
}
std::size_t messages_estimate(const std::vector<SenderMessages>& by_sender) {
  std::size_t bytes = 0;
  for (const SenderMessages& sender : by_sender) {
    bytes += sender.sender.size() + 8 + messages_estimate(sender.messages);
  }
  return bytes;
}

}  // namespace

std::string ok_inbox(const std::vector<SenderMessages>& by_sender) {
  ReplyWriter out(ok_status, messages_estimate(by_sender));
  write_messages(out, by_sender);
  return out.finish();
}

std::string ok_realm_inbox(std::string_view realm, const std::vector<SenderMessages>& by_sender,
                           bool synced) {
  ReplyWriter out(ok_status, messages_estimate(by_sender));
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
  ReplyWriter out(ReplyWriter::event, "message", message_estimate(message));
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
  ReplyWriter out(ok_status, messages_estimate(messages));
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
