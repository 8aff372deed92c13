#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "chatclient/command_line.hpp"

// What the user may type, its help, and how a typed line becomes the request a realm gets:
// `user@realm` addressing routed to the realm commands, local commands (/msg, /join, ...)
// spelled as protocol commands, and token mode after a reconnect. Pure: unit-tested.
namespace chat::client {

struct CommandHelp {
  std::string_view name;    // "send", "/msg"
  std::string_view params;  // "USERNAME[@REALM] MESSAGE"
  std::string_view what;    // one line
};

// Every command, protocol ones first in the order a new user meets them, then local ones.
std::span<const CommandHelp> all_commands();
// The help of `name` ("send", "/msg"; "msg" finds "/msg", "/send" finds "send"), or nullptr.
const CommandHelp* find_help(std::string_view name);
// `help`: every command with its parameters, one per line.
std::string help_text();
// `help CMD`: "usage: send USERNAME[@REALM] MESSAGE\n  private message ...\n"; for an unknown
// name a line saying so.
std::string usage_text(std::string_view name);

// "name" or "name@realm", both names of docs/contract.md §1.2.
struct Address {
  std::string name;
  std::string realm;  // empty: no @realm given
};
bool is_name(std::string_view text);
std::optional<Address> parse_address(std::string_view text);

// A typed line made ready for the realm: `line` to send (parsed again as `command`), or an
// `error` for the user (with a usage hint), or neither for a line that is handled locally.
struct Routed {
  std::string line;
  std::string error;
};
// `home_realm` is the connected realm's name ("" while unknown: every @realm goes to the realm
// commands, which treat the realm's own name as local). Lines this does not know pass as typed.
Routed route(const CommandLine& typed, std::string_view home_realm);

// Whether `verb` needs a session (everything but auth, register and unknown verbs is sent
// with the token in token mode; an unknown verb gets the server's own error either way).
bool needs_session(std::string_view verb);
// `line` in token mode (docs/contract.md §1.3): the token as the first parameter.
std::string with_token(const CommandLine& command, std::string_view token);

// The hint shown under an error reply to a typed command: its usage when the server found a
// parameter wrong, the way to the list for an unknown command; "" otherwise.
std::string hint_for(const CommandLine& command, std::string_view error_message);

}  // namespace chat::client
