#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/line_client.hpp"
#include "support/realmd_process.hpp"

// What the process tests ask running realms about their links and the messages that arrived,
// and the tally of a stream of messages (sent / delivered / lost / duplicated).
namespace test_support {

// The replies to sendprivaterealm: both are promises to deliver.
inline const std::string sent_to_realm_reply =
    R"({"status":"OK","message":"Message sent to user in realm"})";
inline const std::string queued_for_realm_reply =
    R"({"status":"OK","message":"Message queued for realm","queued":true})";

bool is_ok(const std::string& reply);

// How long a sendprivaterealm reply waits for the peer's ack before it says "queued"
// (docs/protocol.md, "client waits"; not configurable).
inline constexpr std::chrono::milliseconds ack_timeout{2000};

// Whether `reply`, read now, is what a link that stayed up answers a sendprivaterealm sent at
// `sent_at`: "sent" (acked), or "queued" once ack_timeout has passed (an ack later than that, as
// on a loaded machine or under ASan). A "queued" sooner means the link was down.
bool acked_or_late(const std::string& reply, std::chrono::steady_clock::time_point sent_at);

// A client of `realm` logged in as `user` (password "pw"); REQUIREs the OK.
std::unique_ptr<LineClient> login(const RealmdProcess& realm, const std::string& user);

// The `realms` entry of `peer` as `client`'s realm lists it ("" when it lists none).
std::string realm_entry(LineClient& client, const std::string& peer);
bool linked(LineClient& client, const std::string& peer);
// The number of messages in the outbox for `peer`.
int queued_for(LineClient& client, const std::string& peer);
// Linked, and nothing left in the outbox for `peer`.
bool drained(LineClient& client, const std::string& peer);

// Sends `request` (`inbox` or `getrealminbox R`) until it returns no message; adds one to
// `seen[text]` for each message text returned.
void drain_messages(LineClient& client, const std::string& request,
                    std::map<std::string, int>& seen);

struct Tally {
  int sent = 0;        // requests made
  int accepted = 0;    // answered OK: a promise to deliver
  int delivered = 0;   // accepted ones found at the receiver
  int lost = 0;        // accepted ones not found
  int duplicated = 0;  // extra copies found (of any message sent)
};

// `texts[i]` was sent, answered OK if `accepted[i]`; `seen` counts what arrived. Prints the line
// "sent=N delivered=N lost=N duplicated=N accepted=N".
Tally tally(const std::vector<std::string>& texts, const std::vector<bool>& accepted,
            const std::map<std::string, int>& seen);

}  // namespace test_support
