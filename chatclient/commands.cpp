#include "chatclient/commands.hpp"

#include <algorithm>
#include <array>

#include "protocol/messages.hpp"

namespace chat::client {
namespace {

// docs/contract.md §1.5 and §3.1 and our extras (docs/protocol.md), then the local commands.
constexpr std::array<CommandHelp, 26> commands{{
    {"register", "USERNAME PASSWORD NAMALENGKAP NEGARA", "create an account and log in"},
    {"auth", "USERNAME PASSWORD", "log in (or start chatclient with --user USERNAME)"},
    {"logout", "", "log out"},
    {"info", "USERNAME", "show a user of this realm"},
    {"send", "USERNAME[@REALM] MESSAGE", "private message (@REALM: a user of another realm)"},
    {"addgroup", "GROUP", "create a group of this realm (you become a member)"},
    {"joingroup", "GROUP", "join a group of this realm"},
    {"sendgroup", "GROUP[@REALM] MESSAGE", "message every other member of a group"},
    {"inbox", "", "new messages from this realm (marks them read)"},
    {"getrealminbox", "REALM", "new messages from REALM (marks them read)"},
    {"history", "user|group NAME[@REALM] [LIMIT [BEFORE]]",
     "earlier messages of a conversation, newest LIMIT (default 50) before id BEFORE"},
    {"conversations", "", "your conversations, newest first, with unread counts"},
    {"watch", "", "show new messages as they arrive (on by itself in the terminal)"},
    {"unwatch", "", "stop showing new messages as they arrive"},
    {"realms", "", "the realms this realm links to, and their state"},
    {"addrealm", "REALM [HOST PORT]", "link a realm (HOST PORT: admins only)"},
    {"sendprivaterealm", "REALM USERNAME MESSAGE", "private message to a user of REALM"},
    {"sendgrouprealm", "REALM GROUP MESSAGE", "message a group of REALM"},
    {"help", "[COMMAND]", "this list, or how to use one command"},
    {"/msg", "USERNAME[@REALM] MESSAGE", "same as send"},
    {"/gmsg", "GROUP[@REALM] MESSAGE", "same as sendgroup"},
    {"/join", "GROUP", "same as joingroup"},
    {"/history", "[USERNAME[@REALM] | #GROUP] [LIMIT]",
     "a conversation's latest messages; alone: the page before the last one shown"},
    {"/conversations", "", "same as conversations"},
    {"/quiet", "", "live view off/on (new messages shown as they arrive)"},
    {"/quit", "", "leave (also Ctrl-D)"},
}};

std::string syntax_of(const CommandHelp& help) {
  std::string syntax(help.name);
  if (!help.params.empty()) syntax.append(" ").append(help.params);
  return syntax;
}

Routed usage_error(std::string_view name) {
  const CommandHelp* help = find_help(name);
  return {{}, "usage: " + (help != nullptr ? syntax_of(*help) : std::string(name))};
}

Routed routed(std::string line) {
  return {std::move(line), {}};
}

bool is_remote(const Address& address, std::string_view home_realm) {
  return !address.realm.empty() && address.realm != home_realm;
}

// send / sendgroup with an address: the local command, or the realm command for @REALM.
Routed route_message(const CommandLine& typed, std::string_view usage_name, bool group,
                     std::string_view home_realm) {
  const auto address = typed.params.empty() ? std::nullopt : parse_address(typed.params[0]);
  const std::string text = typed.rest_from(1);
  if (!address || text.empty()) return usage_error(usage_name);
  if (is_remote(*address, home_realm)) {
    return routed(std::string(group ? "sendgrouprealm " : "sendprivaterealm ") + address->realm +
                  " " + address->name + " " + text);
  }
  return routed(std::string(group ? "sendgroup " : "send ") + address->name + " " + text);
}

// joingroup / addgroup: groups are made and joined on their own realm only.
Routed route_group_membership(const CommandLine& typed, std::string_view verb,
                              std::string_view usage_name, std::string_view home_realm) {
  const auto address = typed.params.size() == 1 ? parse_address(typed.params[0]) : std::nullopt;
  if (!address) return usage_error(usage_name);
  if (is_remote(*address, home_realm)) {
    return {{},
            "groups of " + address->realm + " are created and joined on " + address->realm +
                " itself (chatclient --realm " + address->realm + ")"};
  }
  return routed(std::string(verb) + " " + address->name);
}

// "history user|group NAME[@REALM] ..." or "/history TARGET [LIMIT]" as the protocol's history.
Routed route_history(std::string_view kind, std::string_view target,
                     std::span<const std::string> numbers, std::string_view usage_name,
                     std::string_view home_realm) {
  const auto address = parse_address(target);
  if (!address || (kind != "user" && kind != "group")) return usage_error(usage_name);
  std::string line;
  if (!is_remote(*address, home_realm)) {
    line = "history " + std::string(kind) + " " + address->name;
  } else if (kind == "user") {
    line = "history realm " + address->realm + " " + address->name;
  } else {
    return {{}, "the history of a group of " + address->realm + " is kept on " + address->realm};
  }
  for (const std::string& number : numbers) line += " " + number;
  return routed(std::move(line));
}

Routed route_slash_history(const CommandLine& typed, std::string_view home_realm) {
  if (typed.params.empty()) return {};  // the next page: the Repl knows which
  if (typed.params.size() > 2) return usage_error("/history");
  std::string_view target = typed.params[0];
  const bool group = target.starts_with('#');
  if (group) target.remove_prefix(1);
  return route_history(group ? "group" : "user", target, std::span(typed.params).subspan(1),
                       "/history", home_realm);
}

}  // namespace

std::span<const CommandHelp> all_commands() {
  return commands;
}

const CommandHelp* find_help(std::string_view name) {
  const auto named = [](std::string_view wanted) {
    const auto it = std::find_if(commands.begin(), commands.end(),
                                 [wanted](const CommandHelp& help) { return help.name == wanted; });
    return it == commands.end() ? nullptr : &*it;
  };
  if (const CommandHelp* help = named(name)) return help;
  if (name.starts_with('/')) return named(name.substr(1));
  // append() rather than "/" + name: g++ 12 -O3 warns -Wrestrict on the latter.
  std::string local = "/";
  local.append(name);
  return named(local);
}

std::string help_text() {
  std::string out =
      "Commands (NAME@REALM reaches another realm; MESSAGE is the rest of the line):\n";
  bool local_seen = false;
  for (const CommandHelp& help : commands) {
    if (help.name.starts_with('/') && !local_seen) {
      out += "Local commands:\n";
      local_seen = true;
    }
    std::string syntax = syntax_of(help);
    syntax.resize(std::max<std::size_t>(syntax.size() + 2, 50), ' ');
    out += "  " + syntax + std::string(help.what) + "\n";
  }
  out += "help COMMAND shows one command. Tab completes commands and names seen.\n";
  return out;
}

std::string usage_text(std::string_view name) {
  const CommandHelp* help = find_help(name);
  if (help == nullptr) return "no command " + std::string(name) + " (type help for the list)\n";
  return "usage: " + syntax_of(*help) + "\n  " + std::string(help->what) + "\n";
}

bool is_name(std::string_view text) {
  if (text.empty() || text.size() > 32) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

std::optional<Address> parse_address(std::string_view text) {
  const std::size_t at = text.find('@');
  Address address{std::string(text.substr(0, at)), {}};
  if (at != std::string_view::npos) address.realm = std::string(text.substr(at + 1));
  if (!is_name(address.name)) return std::nullopt;
  if (at != std::string_view::npos && !is_name(address.realm)) return std::nullopt;
  return address;
}

Routed route(const CommandLine& typed, std::string_view home_realm) {
  const std::string& verb = typed.verb;
  if (verb == "send" || verb == "/msg") return route_message(typed, verb, false, home_realm);
  if (verb == "sendgroup" || verb == "/gmsg") return route_message(typed, verb, true, home_realm);
  if (verb == "joingroup" || verb == "/join") {
    return route_group_membership(typed, "joingroup", verb, home_realm);
  }
  if (verb == "addgroup") return route_group_membership(typed, "addgroup", verb, home_realm);
  if (verb == "/history") return route_slash_history(typed, home_realm);
  if (verb == "/conversations") return routed("conversations");
  // history user NAME@REALM: the protocol's history realm REALM NAME. Token-mode lines
  // (history TOKEN ...) and the realm form pass as typed.
  if (verb == "history" && typed.params.size() >= 2 && typed.params.size() <= 4 &&
      (typed.params[0] == "user" || typed.params[0] == "group") &&
      typed.params[1].find('@') != std::string::npos) {
    return route_history(typed.params[0], typed.params[1], std::span(typed.params).subspan(2),
                         "history", home_realm);
  }
  return routed(typed.line);
}

bool needs_session(std::string_view verb) {
  return verb != "auth" && verb != "register" && find_help(verb) != nullptr &&
         !verb.starts_with('/') && verb != "help";
}

std::string with_token(const CommandLine& command, std::string_view token) {
  std::string line = command.verb;
  line.append(" ").append(token);
  if (!command.params.empty()) line.append(" ").append(command.line.substr(command.offsets[0]));
  return line;
}

std::string hint_for(const CommandLine& command, std::string_view error_message) {
  if (error_message == protocol::text::unknown_command) return "type help for the commands";
  if (error_message == protocol::text::no_session) {
    return "log in first: auth USERNAME PASSWORD (or start chatclient with --user USERNAME)";
  }
  if (error_message != protocol::text::bad_parameter) return {};
  const CommandHelp* help = find_help(command.verb);
  return help != nullptr ? "usage: " + syntax_of(*help) : std::string();
}

}  // namespace chat::client
