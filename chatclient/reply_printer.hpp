#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "chatclient/command_line.hpp"

// Turns one server reply or pushed event (the JSON text, without its "\r\n\r\n") into what
// the user reads.
// Pure: no I/O, so every layout below is unit-tested.
namespace chat::client {

struct PrintOptions {
  bool json = false;   // print the reply JSON as received
  bool color = false;  // ANSI colors (stdout is a terminal and NO_COLOR is unset)
};

struct PrintedReply {
  std::string text;       // one or more lines, each ending in '\n'
  bool is_error = false;  // "status":"ERROR", or a reply that is not a protocol reply at all
};

// `command` is the request this reply answers; it picks the layout (inbox, info, ...).
PrintedReply print_reply(const CommandLine& command, std::string_view reply_json,
                         const PrintOptions& options);

// A pushed event as one line: "[22:33:16] messi: hello", "[..] messi @kominfo: hi",
// "[..] ronaldo@beta: ola" (a sender of another realm than `home_realm`; with the home realm
// unknown every sender's realm is shown), "[..] bounced by beta: ...". Empty for an event
// this client does not know (newer servers may add some). With options.json, the JSON as sent.
std::string print_event(std::string_view event_json, std::optional<std::string_view> home_realm,
                        const PrintOptions& options);

// data.realm of an OK `info` reply: the prompt shows it as user@realm.
std::optional<std::string> realm_of_info_reply(std::string_view reply_json);

}  // namespace chat::client
