#include "ops/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <variant>

#include "core/command_table.hpp"

namespace realmd {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Commands are short words: a longer first word is no command.
constexpr std::size_t longest_command = 16;

std::size_t index_of(std::string_view name) {
  const auto commands = chat::core::all_commands();
  const chat::core::CommandSpec* spec = chat::core::find_command(name);
  return spec == nullptr ? commands.size() : static_cast<std::size_t>(spec - commands.data());
}

}  // namespace

const std::size_t Metrics::unknown_command = chat::core::all_commands().size();

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      auth_command_(index_of("auth")),
      auth_failures_(BuildCounter()
                         .Name("realmchat_auth_failures_total")
                         .Help("auth requests answered with an error")
                         .Register(*registry_)
                         .Add({})),
      messages_stored_(BuildCounter()
                           .Name("realmchat_messages_stored_total")
                           .Help("messages committed to the store (private, group and from peers)")
                           .Register(*registry_)
                           .Add({})),
      pushes_(BuildCounter()
                  .Name("realmchat_pushes_total")
                  .Help("live deliveries to watching connections (watch)")
                  .Register(*registry_)
                  .Add({})),
      reply_waits_(BuildGauge()
                       .Name("realmchat_reply_waits")
                       .Help("client replies waiting for a peer realm (an ack, a fetch, a link)")
                       .Register(*registry_)
                       .Add({})),
      commit_batch_size_(
          BuildHistogram()
              .Name("realmchat_commit_batch_size")
              .Help("mutations per store transaction (group commit)")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256,
                                                               512, 1024, 4096})),
      commit_duration_(
          BuildHistogram()
              .Name("realmchat_commit_duration_seconds")
              .Help("time one store transaction took")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001,
                                                               0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1, 0.25, 0.5, 1, 2.5, 5})),
      connections_(BuildGauge()
                       .Name("realmchat_connections")
                       .Help("open connections by kind: client (lines), web, peer (realm links)")
                       .Register(*registry_)),
      store_stalled_(BuildGauge()
                         .Name("realmchat_store_stalled")
                         .Help("1 while the store has been failing long enough to refuse requests")
                         .Register(*registry_)
                         .Add({})),
      is_primary_(BuildGauge()
                      .Name("realmchat_is_primary")
                      .Help("1 while this process serves its realm (0: a standby)")
                      .Register(*registry_)
                      .Add({})),
      peer_link_up_(BuildGauge()
                        .Name("realmchat_peer_link_up")
                        .Help("1 while an authenticated link to the peer realm is up")
                        .Register(*registry_)),
      outbox_messages_(BuildGauge()
                           .Name("realmchat_outbox_messages")
                           .Help("messages for the peer realm not acknowledged by it yet")
                           .Register(*registry_)) {
  auto& requests = BuildCounter()
                       .Name("realmchat_requests_total")
                       .Help("client requests answered, by command and status (OK or ERROR)")
                       .Register(*registry_);
  const auto add = [&](const std::string& command) {
    requests_.push_back({&requests.Add({{"command", command}, {"status", "OK"}}),
                         &requests.Add({{"command", command}, {"status", "ERROR"}})});
  };
  for (const chat::core::CommandSpec& spec : chat::core::all_commands())
    add(std::string(spec.name));
  add("unknown");
  is_primary_.Set(1);
}

std::size_t Metrics::command_of(std::string_view line) {
  const std::size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos) return unknown_command;
  line.remove_prefix(start);
  const std::string_view word = line.substr(0, line.find(' '));
  if (word.size() > longest_command) return unknown_command;
  std::array<char, longest_command> lower{};
  std::transform(word.begin(), word.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return index_of(std::string_view(lower.data(), word.size()));
}

void Metrics::request(std::size_t command, bool ok) {
  const RequestCounters& counters = requests_[std::min(command, unknown_command)];
  (ok ? counters.ok : counters.error)->Increment();
  if (!ok && command == auth_command_) auth_failures_.Increment();
}

bool Metrics::is_ok(std::string_view reply) {
  return reply.starts_with(R"({"status":"OK")");
}

void Metrics::committed(const std::vector<chat::store::Mutation>& batch, double seconds) {
  std::size_t messages = 0;  // inbox entries: one per PutMessage, one per group delivery
  for (const chat::store::Mutation& mutation : batch) {
    if (std::holds_alternative<chat::store::PutMessage>(mutation)) ++messages;
    if (const auto* group = std::get_if<chat::store::PutGroupMessage>(&mutation)) {
      messages += group->deliveries.size();
    }
  }
  if (messages > 0) messages_stored_.Increment(static_cast<double>(messages));
  commit_batch_size_.Observe(static_cast<double>(batch.size()));
  commit_duration_.Observe(seconds);
}

std::string Metrics::serialize(const Snapshot& state) {
  connections_.Add({{"kind", "client"}}).Set(static_cast<double>(state.client_connections));
  connections_.Add({{"kind", "web"}}).Set(static_cast<double>(state.web_connections));
  connections_.Add({{"kind", "peer"}}).Set(static_cast<double>(state.peer_connections));
  reply_waits_.Set(static_cast<double>(state.reply_waits));
  store_stalled_.Set(state.store_stalled ? 1 : 0);
  is_primary_.Set(state.primary ? 1 : 0);
  for (const PeerStatus& peer : state.peers) {
    peer_link_up_.Add({{"peer", peer.name}}).Set(peer.link_up ? 1 : 0);
    outbox_messages_.Add({{"peer", peer.name}}).Set(static_cast<double>(peer.outbox));
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace realmd
