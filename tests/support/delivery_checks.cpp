#include "support/delivery_checks.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string_view>

namespace test_support {

using namespace std::chrono_literals;

bool is_ok(const std::string& reply) {
  return reply.starts_with(R"({"status":"OK")");
}

bool acked_or_late(const std::string& reply, std::chrono::steady_clock::time_point sent_at) {
  if (reply == sent_to_realm_reply) return true;
  return reply == queued_for_realm_reply &&
         std::chrono::steady_clock::now() - sent_at >= ack_timeout;
}

std::unique_ptr<LineClient> login(const RealmdProcess& realm, const std::string& user) {
  auto client = std::make_unique<LineClient>(realm.client_port());
  const std::string reply = client->request("auth " + user + " pw");
  REQUIRE_MESSAGE(is_ok(reply), reply);
  return client;
}

std::string realm_entry(LineClient& client, const std::string& peer) {
  const std::string reply = client.request("realms");
  const auto at = reply.find(R"({"name":")" + peer + R"(")");
  if (at == std::string::npos) return {};
  return reply.substr(at, reply.find('}', at) - at + 1);
}

bool linked(LineClient& client, const std::string& peer) {
  return realm_entry(client, peer).find(R"("state":"linked")") != std::string::npos;
}

int queued_for(LineClient& client, const std::string& peer) {
  const std::string entry = realm_entry(client, peer);
  constexpr std::string_view key = R"("queued":)";
  const auto at = entry.find(key);
  REQUIRE_MESSAGE(at != std::string::npos, "no queued count in: " << entry);
  return std::stoi(entry.substr(at + key.size()));
}

bool drained(LineClient& client, const std::string& peer) {
  const std::string entry = realm_entry(client, peer);
  return entry.find(R"("state":"linked")") != std::string::npos &&
         entry.find(R"("queued":0,)") != std::string::npos;
}

void drain_messages(LineClient& client, const std::string& request,
                    std::map<std::string, int>& seen) {
  constexpr std::string_view key = R"("msg":")";
  for (;;) {
    const std::string reply = client.request(request, 30s);
    REQUIRE_MESSAGE(is_ok(reply), request << ": " << reply);
    if (reply.find(R"("messages":{})") != std::string::npos) return;
    for (auto at = reply.find(key); at != std::string::npos; at = reply.find(key, at + 1)) {
      const auto start = at + key.size();
      ++seen[reply.substr(start, reply.find('"', start) - start)];
    }
  }
}

Tally tally(const std::vector<std::string>& texts, const std::vector<bool>& accepted,
            const std::map<std::string, int>& seen) {
  Tally t;
  t.sent = static_cast<int>(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (!accepted[i]) continue;
    ++t.accepted;
    if (seen.contains(texts[i])) {
      ++t.delivered;
    } else {
      ++t.lost;
    }
  }
  for (const auto& [text, count] : seen) t.duplicated += count - 1;
  MESSAGE("sent=" << t.sent << " delivered=" << t.delivered << " lost=" << t.lost
                  << " duplicated=" << t.duplicated << " accepted=" << t.accepted);
  return t;
}

}  // namespace test_support
