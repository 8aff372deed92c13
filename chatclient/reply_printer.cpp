#include "chatclient/reply_printer.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <vector>

namespace chat::client {
namespace {

using rapidjson::Value;

constexpr std::string_view red = "\x1b[31m";
constexpr std::string_view yellow = "\x1b[33m";
constexpr std::string_view reset = "\x1b[0m";

// Text from the server is written by other users: control characters (C0, DEL, and C1 as
// UTF-8) become '?' so a message cannot move the cursor or recolor the terminal.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '\t') {
      out += ' ';
    } else if (byte < 0x20 || byte == 0x7f) {
      out += '?';
    } else if (byte == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      out += '?';
      ++i;
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

// Wraps one whole line (without its '\n') in a color when colors are on.
std::string colored(std::string_view color, std::string line, const PrintOptions& options) {
  if (!options.color) return line;
  return std::string(color) + line + std::string(reset);
}

const Value* member(const Value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  // Compared through a const Value& (RapidJSON 1.1 + C++20 reversed operators).
  const auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string_view string_member(const Value& object, const char* key) {
  const Value* value = member(object, key);
  if (value == nullptr || !value->IsString()) return {};
  return {value->GetString(), value->GetStringLength()};
}

std::string compact_json(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string value_text(const Value& value) {
  if (value.IsString()) return printable({value.GetString(), value.GetStringLength()});
  if (value.IsBool()) return value.GetBool() ? "yes" : "no";
  return printable(compact_json(value));
}

// "2026-11-26T22:33:16Z" -> "05:33:16" in the local time zone (TZ), with the date first when
// `with_date` ("2026-11-27 05:33:16"); anything else is shown as sent.
std::string local_time(std::string_view iso_time, bool with_date) {
  std::tm utc{};
  const std::string text(iso_time);
  char zulu = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &zulu) != 7 ||
      zulu != 'Z') {
    return printable(iso_time);
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  const std::time_t when = timegm(&utc);
  std::tm local{};
  if (when == -1 || localtime_r(&when, &local) == nullptr) return printable(iso_time);
  std::array<char, 32> out{};
  const std::size_t length =
      std::strftime(out.data(), out.size(), with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &local);
  return std::string(out.data(), length);
}

std::string error_line(std::string_view message, const PrintOptions& options) {
  return colored(red, "error: " + printable(message), options) + "\n";
}

// "[22:33:16] messi@beta @kominfo: hi" after `indent` (the realm shown for messages from
// another realm). A bounce is one yellow line.
std::string message_line(std::string_view indent, const Value& msg, std::string_view sender_key,
                         bool show_realm, const PrintOptions& options, bool with_date = false) {
  std::string line =
      std::string(indent) + "[" + local_time(string_member(msg, "time"), with_date) + "] ";
  std::string_view from = string_member(msg, "msg_from");
  if (from.empty()) from = sender_key;
  const std::string text = printable(string_member(msg, "msg"));

  const Value* bounce = member(msg, "bounce");
  if (bounce != nullptr && bounce->IsBool() && bounce->GetBool()) {
    return colored(yellow, line + "bounced by " + printable(from) + ": " + text, options) + "\n";
  }
  line += printable(from);
  const std::string_view realm = string_member(msg, "realm");
  // append() rather than `line += "@" + ...`: g++ 12 -O3 warns -Wrestrict on the latter.
  if (show_realm && !realm.empty()) line.append("@").append(printable(realm));
  const std::string_view group = string_member(msg, "group");
  if (!group.empty()) line.append(" @").append(printable(group));
  return line + ": " + text + "\n";
}

// Sender groups in the order the server sent them (oldest message first); returns how many
// messages were printed, or nullopt when `messages` is not the protocol's shape.
std::optional<std::size_t> append_messages(const Value& messages, bool show_realm,
                                           const PrintOptions& options, std::string& out) {
  if (!messages.IsObject()) return std::nullopt;
  std::size_t total = 0;
  for (const auto& sender : messages.GetObject()) {
    if (!sender.value.IsArray()) return std::nullopt;
    const std::string_view name{sender.name.GetString(), sender.name.GetStringLength()};
    const std::size_t count = sender.value.Size();
    out += "From " + printable(name) + " (" + std::to_string(count) +
           (count == 1 ? " message):\n" : " messages):\n");
    for (const auto& msg : sender.value.GetArray()) {
      if (!msg.IsObject()) return std::nullopt;
      out += message_line("  ", msg, name, show_realm, options);
    }
    total += count;
  }
  return total;
}

// A small two-column table of `data`, in the order the server sent the fields.
std::string info_table(const Value& data) {
  std::size_t width = 0;
  for (const auto& field : data.GetObject()) {
    width = std::max<std::size_t>(width, field.name.GetStringLength());
  }
  std::string out;
  for (const auto& field : data.GetObject()) {
    const std::string name = printable({field.name.GetString(), field.name.GetStringLength()});
    out += "  " + name + std::string(width - name.size() + 2, ' ') + value_text(field.value) + "\n";
  }
  return out;
}

// Rows of cells as columns two spaces apart, each as wide as its widest cell (the last column
// is not padded).
template <std::size_t N>
std::string table_text(const std::vector<std::array<std::string, N>>& rows) {
  std::array<std::size_t, N> widths{};
  for (const auto& row : rows) {
    for (std::size_t column = 0; column < N; ++column) {
      widths[column] = std::max(widths[column], row[column].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t column = 0; column < N; ++column) {
      std::string cell = row[column];
      if (column + 1 < N) cell.resize(widths[column], ' ');
      out += "  " + cell;
    }
    out += "\n";
  }
  return out;
}

std::string or_dash(std::string text) {
  return text.empty() ? std::string("-") : text;
}

std::string member_text(const Value& object, const char* key) {
  const Value* value = member(object, key);
  return value != nullptr ? or_dash(value_text(*value)) : "-";
}

// A realm reached through others (docs/protocol.md, Routing): it names its next hop (`via`),
// or it is one such realm while no path is up.
bool is_routed(const Value& realm) {
  const std::string_view state = string_member(realm, "state");
  return member(realm, "via") != nullptr || state == "routed" || state == "unreachable";
}

// The `realms` reply as tables: the direct peers, then (when there are any) the realms reached
// through them with the next hop and the number of links to them; nullopt when it is not the
// documented shape.
std::optional<std::string> realms_table(const Value& realms) {
  if (!realms.IsArray()) return std::nullopt;
  if (realms.Empty()) return "(no realms)\n";
  std::vector<std::array<std::string, 5>> peers{
      {"name", "state", "address", "queued", "last error"}};
  std::vector<std::array<std::string, 5>> routed{{"name", "state", "via", "distance", "queued"}};
  for (const auto& realm : realms.GetArray()) {
    if (!realm.IsObject()) return std::nullopt;
    const std::string name = printable(string_member(realm, "name"));
    const std::string state = printable(string_member(realm, "state"));
    if (is_routed(realm)) {
      routed.push_back({name, state, member_text(realm, "via"), member_text(realm, "distance"),
                        member_text(realm, "queued")});
    } else {
      peers.push_back({name, state, or_dash(printable(string_member(realm, "address"))),
                       member_text(realm, "queued"),
                       or_dash(printable(string_member(realm, "last_error")))});
    }
  }
  if (routed.size() == 1) return table_text(peers);
  const std::string direct =
      peers.size() == 1 ? "Direct peers: none\n" : "Direct peers:\n" + table_text(peers);
  return direct + "Through other realms (next hop, links away):\n" + table_text(routed);
}

std::string ok_text(const CommandLine& command, const Value& reply) {
  const std::string user = command.params.empty() ? "" : printable(command.params.front());
  const std::string_view message = string_member(reply, "message");
  if (command.verb == "auth") {
    return user.empty() ? "ok: Logged in\n" : "ok: Logged in as " + user + "\n";
  }
  if (command.verb == "register" && !message.empty()) {
    return "ok: " + printable(message) + (user.empty() ? "" : ", logged in as " + user) + "\n";
  }
  if (message.empty()) {
    return reply.MemberCount() == 1 ? "ok\n" : "ok: " + printable(compact_json(reply)) + "\n";
  }
  std::string line = "ok: " + printable(message);
  const std::string_view state = string_member(reply, "state");
  if (!state.empty()) line += " (state: " + printable(state) + ")";
  return line + "\n";
}

// A `history` reply: one line per message, oldest first, with dates; `more` says how to page.
std::optional<std::string> history_lines(const CommandLine& command, const Value& messages,
                                         const Value& reply, const PrintOptions& options) {
  // history [TOKEN] realm R NAME: the other side is of realm R, so senders show their realm.
  const bool show_realm =
      std::find(command.params.begin(), command.params.end(), "realm") != command.params.end();
  std::string out;
  for (const auto& msg : messages.GetArray()) {
    if (!msg.IsObject()) return std::nullopt;
    out += message_line("  ", msg, "", show_realm, options, true);
  }
  if (messages.Empty()) out += "(no messages)\n";
  const Value* more = member(reply, "more");
  if (more != nullptr && more->IsBool() && more->GetBool()) {
    out += "(older messages: /history shows the page before)\n";
  }
  return out;
}

// A `conversations` reply: "  jokowi@beta   2 unread   last 2026-11-27 05:33:16".
std::optional<std::string> conversation_lines(const Value& conversations) {
  if (!conversations.IsArray()) return std::nullopt;
  if (conversations.Empty()) return "(no conversations yet)\n";
  std::vector<std::array<std::string, 3>> rows;
  for (const auto& conversation : conversations.GetArray()) {
    if (!conversation.IsObject()) return std::nullopt;
    const std::string_view kind = string_member(conversation, "kind");
    std::string label = printable(string_member(conversation, "name"));
    if (kind == "group") label = "#" + label;
    if (kind == "realm") label.append("@").append(printable(string_member(conversation, "realm")));
    const Value* unread = member(conversation, "unread");
    const bool has_unread = unread != nullptr && unread->IsUint64() && unread->GetUint64() > 0;
    rows.push_back({label, has_unread ? value_text(*unread) + " unread" : "",
                    "last " + local_time(string_member(conversation, "last_time"), true)});
  }
  std::size_t label_width = 0;
  std::size_t unread_width = 0;
  for (const auto& row : rows) {
    label_width = std::max(label_width, row[0].size());
    unread_width = std::max(unread_width, row[1].size());
  }
  std::string out = "Conversations (newest first; /history NAME shows one):\n";
  for (auto& row : rows) {
    row[0].resize(label_width, ' ');
    row[1].resize(unread_width, ' ');
    out += "  " + row[0] + "  " + row[1] + (unread_width > 0 ? "  " : "") + row[2] + "\n";
  }
  return out;
}

std::optional<std::string> ok_layout(const CommandLine& command, const Value& reply,
                                     const PrintOptions& options) {
  if (const Value* conversations = member(reply, "conversations")) {
    return conversation_lines(*conversations);
  }
  if (const Value* messages = member(reply, "messages");
      messages != nullptr && messages->IsArray()) {
    return history_lines(command, *messages, reply, options);
  }
  if (const Value* messages = member(reply, "messages")) {
    const std::string_view realm = string_member(reply, "realm");
    const bool from_realm = member(reply, "realm") != nullptr;
    std::string out;
    const Value* synced = member(reply, "synced");
    if (from_realm && synced != nullptr && synced->IsBool() && !synced->GetBool()) {
      out += colored(yellow,
                     "warning: realm " + printable(realm) +
                         " could not be reached; showing what had arrived",
                     options) +
             "\n";
    }
    const auto count = append_messages(*messages, from_realm, options, out);
    if (!count) return std::nullopt;
    if (*count == 0) {
      out += from_realm ? "(no messages from realm " + printable(realm) + ")\n" : "(no messages)\n";
    }
    return out;
  }
  if (const Value* realms = member(reply, "realms")) return realms_table(*realms);
  if (const Value* data = member(reply, "data")) {
    if (!data->IsObject()) return std::nullopt;
    // An empty table would print nothing at all: the user would not see that a reply came.
    if (data->ObjectEmpty()) return "(no data)\n";
    return info_table(*data);
  }
  return ok_text(command, reply);
}

}  // namespace

PrintedReply print_reply(const CommandLine& command, std::string_view reply_json,
                         const PrintOptions& options) {
  rapidjson::Document reply;
  reply.Parse(reply_json.data(), reply_json.size());
  const std::string_view status =
      reply.HasParseError() ? std::string_view{} : string_member(reply, "status");
  const bool is_error = status != "OK";

  if (options.json) return {std::string(reply_json) + "\n", is_error};

  if (status == "ERROR") {
    const std::string_view message = string_member(reply, "message");
    return {error_line(message.empty() ? compact_json(reply) : message, options), true};
  }
  if (status == "OK") {
    if (auto text = ok_layout(command, reply, options)) return {std::move(*text), false};
  }
  return {error_line("unexpected reply from server: " + std::string(reply_json), options), true};
}

std::string print_event(std::string_view event_json, std::optional<std::string_view> home_realm,
                        const PrintOptions& options) {
  if (options.json) return std::string(event_json) + "\n";
  rapidjson::Document event;
  event.Parse(event_json.data(), event_json.size());
  if (event.HasParseError() || string_member(event, "event") != "message") return {};
  const Value* msg = member(event, "message");
  if (msg == nullptr || !msg->IsObject()) return {};
  const bool from_elsewhere = !home_realm || string_member(*msg, "realm") != *home_realm;
  return message_line("", *msg, "", from_elsewhere, options);
}

std::string print_notice(std::string_view reply_json, const PrintOptions& options) {
  if (options.json) return std::string(reply_json) + "\n";
  rapidjson::Document reply;
  reply.Parse(reply_json.data(), reply_json.size());
  const std::string_view message =
      reply.HasParseError() ? std::string_view{} : string_member(reply, "message");
  return colored(yellow, "server: " + printable(message.empty() ? reply_json : message), options) +
         "\n";
}

std::optional<std::string> error_message_of(std::string_view reply_json) {
  rapidjson::Document reply;
  reply.Parse(reply_json.data(), reply_json.size());
  if (reply.HasParseError() || string_member(reply, "status") == "OK") return std::nullopt;
  return std::string(string_member(reply, "message"));
}

std::string inbox_as_event_lines(std::string_view reply_json,
                                 std::optional<std::string_view> home_realm,
                                 const PrintOptions& options) {
  rapidjson::Document reply;
  reply.Parse(reply_json.data(), reply_json.size());
  if (reply.HasParseError() || string_member(reply, "status") != "OK") return {};
  const Value* messages = member(reply, "messages");
  if (messages == nullptr || !messages->IsObject()) return {};
  // Oldest first across senders: ids grow in the order the realm stored the messages.
  std::vector<const Value*> all;
  for (const auto& sender : messages->GetObject()) {
    if (!sender.value.IsArray()) continue;
    for (const auto& msg : sender.value.GetArray()) {
      if (msg.IsObject()) all.push_back(&msg);
    }
  }
  const auto id_of = [](const Value* msg) {
    const Value* id = member(*msg, "id");
    return id != nullptr && id->IsUint64() ? id->GetUint64() : 0;
  };
  std::stable_sort(all.begin(), all.end(),
                   [&](const Value* a, const Value* b) { return id_of(a) < id_of(b); });
  std::string out;
  for (const Value* msg : all) {
    const bool from_elsewhere = !home_realm || string_member(*msg, "realm") != *home_realm;
    out += message_line("", *msg, "", from_elsewhere, options);
  }
  return out;
}

std::vector<std::string> names_in_reply(std::string_view reply_json,
                                        std::optional<std::string_view> home_realm) {
  rapidjson::Document reply;
  reply.Parse(reply_json.data(), reply_json.size());
  std::vector<std::string> names;
  if (reply.HasParseError()) return names;
  // Who sent a message (of an inbox, a history page or an event) and which group it went to.
  const auto add_message = [&](const Value& msg) {
    const std::string from(string_member(msg, "msg_from"));
    const std::string_view realm = string_member(msg, "realm");
    if (!from.empty()) {
      names.push_back(!home_realm || realm.empty() || realm == *home_realm
                          ? from
                          : from + "@" + std::string(realm));
    }
    if (const std::string group(string_member(msg, "group")); !group.empty()) {
      names.push_back(group);
    }
  };
  if (const Value* message = member(reply, "message"); message != nullptr && message->IsObject()) {
    add_message(*message);
  }
  if (const Value* messages = member(reply, "messages")) {
    if (messages->IsArray()) {
      for (const auto& msg : messages->GetArray()) add_message(msg);
    } else if (messages->IsObject()) {
      for (const auto& sender : messages->GetObject()) {
        if (!sender.value.IsArray()) continue;
        for (const auto& msg : sender.value.GetArray()) add_message(msg);
      }
    }
  }
  if (const Value* conversations = member(reply, "conversations");
      conversations != nullptr && conversations->IsArray()) {
    for (const auto& conversation : conversations->GetArray()) {
      std::string name(string_member(conversation, "name"));
      if (string_member(conversation, "kind") == "realm") {
        name.append("@").append(string_member(conversation, "realm"));
      }
      if (!name.empty()) names.push_back(std::move(name));
    }
  }
  std::erase_if(names, [](const std::string& name) {
    return name.find_first_of("\x1b\n\r ") != std::string::npos;
  });
  return names;
}

HistoryPageInfo history_page_info(std::string_view reply_json) {
  rapidjson::Document reply;
  reply.Parse(reply_json.data(), reply_json.size());
  HistoryPageInfo info;
  if (reply.HasParseError() || string_member(reply, "status") != "OK") return info;
  const Value* messages = member(reply, "messages");
  if (messages == nullptr || !messages->IsArray()) return info;
  for (const auto& msg : messages->GetArray()) {
    const Value* id = member(msg, "id");
    if (id == nullptr || !id->IsUint64()) continue;
    if (!info.oldest_id || id->GetUint64() < *info.oldest_id) info.oldest_id = id->GetUint64();
  }
  const Value* more = member(reply, "more");
  info.more = more != nullptr && more->IsBool() && more->GetBool();
  return info;
}

std::string token_of_reply(std::string_view reply_json) {
  rapidjson::Document reply;
  reply.Parse(reply_json.data(), reply_json.size());
  if (reply.HasParseError()) return {};
  return std::string(string_member(reply, "tokenid"));
}

std::vector<std::string> reachable_realms_of(std::string_view reply_json) {
  rapidjson::Document reply;
  reply.Parse(reply_json.data(), reply_json.size());
  std::vector<std::string> names;
  if (reply.HasParseError()) return names;
  const Value* realms = member(reply, "realms");
  if (realms == nullptr || !realms->IsArray()) return names;
  for (const auto& realm : realms->GetArray()) {
    // An idle realm (named in the config, never dialled) refuses getrealminbox.
    if (string_member(realm, "state") == "idle") continue;
    const std::string_view name = string_member(realm, "name");
    if (!name.empty()) names.emplace_back(name);
  }
  return names;
}

std::optional<std::string> realm_of_info_reply(std::string_view reply_json) {
  rapidjson::Document reply;
  reply.Parse(reply_json.data(), reply_json.size());
  if (reply.HasParseError() || string_member(reply, "status") != "OK") return std::nullopt;
  const Value* data = member(reply, "data");
  if (data == nullptr) return std::nullopt;
  const std::string_view realm = string_member(*data, "realm");
  if (realm.empty()) return std::nullopt;
  return printable(realm);
}

}  // namespace chat::client
