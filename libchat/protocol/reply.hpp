#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// The only writer of client replies: compact JSON objects (no CR/LF inside). The wire
// terminator "\r\n\r\n" is added by the connection, not here. Text arguments are expected to
// be valid UTF-8 (lines are validated when parsed); control characters are escaped.
namespace chat::protocol::reply {

inline constexpr std::string_view terminator = "\r\n\r\n";

std::string error(std::string_view message);        // {"status":"ERROR","message":M}
std::string ok_message(std::string_view message);   // {"status":"OK","message":M}
std::string ok_token(std::string_view token);       // auth: {"status":"OK","tokenid":T}
std::string ok_registered(std::string_view token);  // register: message + tokenid

// One MSG object of docs/contract.md §1.5.
struct MessageView {
  std::uint64_t id = 0;
  std::string_view from, to, text, realm, time;
  std::string_view group;  // empty: a private message (no "group" key)
  bool bounce = false;     // true adds "bounce":true
};
// Messages of one sender, oldest first; senders in order of their oldest message.
struct SenderMessages {
  std::string_view sender;
  std::vector<MessageView> messages;
};

// An upper bound of the bytes `text` takes as a JSON string in a reply (quotes included): a
// control character escapes to 6 bytes (\u0001), so a text can grow 6x. Caps on reply sizes
// count this, not the text, or escape-heavy messages make replies 6x their cap.
std::size_t json_string_bytes(std::string_view text);
// An upper bound of one MSG object's bytes in a reply.
std::size_t message_bytes(const MessageView& message);

std::string ok_inbox(const std::vector<SenderMessages>& by_sender);
std::string ok_realm_inbox(std::string_view realm, const std::vector<SenderMessages>& by_sender,
                           bool synced);

struct UserInfo {
  std::string_view username, nama, negara, realm;
  bool online = false;
};
std::string ok_info(const UserInfo& info);

// addrealm: {"status":"OK","message":"Realm added successfully","state":S}
std::string ok_realm_added(std::string_view state);
// A realm send waiting in the outbox:
// {"status":"OK","message":"Message queued for realm","queued":true}
std::string ok_queued();

// A live delivery to a `watch`ing connection (ours): {"event":"message","message":MSG}.
std::string event_message(const MessageView& message);

// `realms` (ours, docs/protocol.md): {"status":"OK","realms":[{"name":..,"state":..,
// "address":"host:port" or "","queued":N,"last_error":".."},...]}
struct RealmView {
  std::string_view name, state, address, last_error;
  std::uint64_t queued = 0;
  // A realm reached through others: the next hop and the links to it ("routed" only).
  std::string_view via;
  std::uint64_t distance = 0;
};
std::string ok_realms(const std::vector<RealmView>& realms);

// `history` (docs/protocol.md): {"status":"OK","messages":[MSG,...],"more":bool}
std::string ok_history(const std::vector<MessageView>& messages, bool more);

// `conversations`: {"status":"OK","conversations":[{"kind":..,"name":..,"realm":..,
// "last_id":N,"last_time":T,"unread":K},...]} in the order given.
struct ConversationEntry {
  std::string_view kind, name, realm;
  std::uint64_t last_id = 0;
  std::string_view last_time;
  std::uint64_t unread = 0;
};
std::string ok_conversations(const std::vector<ConversationEntry>& conversations);

}  // namespace chat::protocol::reply
