#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// Times are shown in the local time zone (TZ), "[05:33:16]" for an event or inbox line, with
// the date for history lines.
// A pushed event as one line: "[22:33:16] messi: hello", "[..] messi @kominfo: hi",
// "[..] ronaldo@beta: ola" (a sender of another realm than `home_realm`; with the home realm
// unknown every sender's realm is shown), "[..] bounced by beta: ...". Empty for an event
// this client does not know (newer servers may add some). With options.json, the JSON as sent.
std::string print_event(std::string_view event_json, std::optional<std::string_view> home_realm,
                        const PrintOptions& options);

// A reply nobody asked for (the realm's last word before it closes the connection, e.g.
// "Tidak aktif terlalu lama, koneksi ditutup"): "server: MESSAGE".
std::string print_notice(std::string_view reply_json, const PrintOptions& options);

// The "message" of an ERROR reply (or of anything that is not OK); nullopt for an OK reply.
std::optional<std::string> error_message_of(std::string_view reply_json);

// An OK inbox / getrealminbox reply as event lines, oldest first ("" when it holds none): what
// arrived while the client was away, or found by polling.
std::string inbox_as_event_lines(std::string_view reply_json,
                                 std::optional<std::string_view> home_realm,
                                 const PrintOptions& options);

// The names a reply or event mentions (senders, as name@realm when of another realm than
// `home_realm`; groups; conversations), for completion.
std::vector<std::string> names_in_reply(std::string_view reply_json,
                                        std::optional<std::string_view> home_realm);

// What a `history` reply says about paging back.
struct HistoryPageInfo {
  std::optional<std::uint64_t> oldest_id;  // the smallest id of the page
  bool more = false;                       // older messages exist
};
HistoryPageInfo history_page_info(std::string_view reply_json);

// The "tokenid" of an auth / register reply ("" when none).
std::string token_of_reply(std::string_view reply_json);

// The realms of a `realms` reply that getrealminbox can ask (all but the idle ones).
std::vector<std::string> reachable_realms_of(std::string_view reply_json);

// data.realm of an OK `info` reply: the prompt shows it as user@realm.
std::optional<std::string> realm_of_info_reply(std::string_view reply_json);

}  // namespace chat::client
