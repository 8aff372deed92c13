#include "core/routing_state.hpp"

#include <charconv>
#include <string_view>
#include <vector>

#include "protocol/names.hpp"

namespace chat::core {

store::OutboxRecord to_outbox_record(const frames::Fwd& e) {
  store::OutboxRecord record;
  record.id = e.id;
  record.epoch = e.epoch;
  record.peer = e.dest;
  record.kind = frames::kind_name(e.kind);
  record.sender = e.from;
  record.target = e.to;
  record.text = e.text;
  record.time = e.time;
  record.route = e.origin + "|" + std::to_string(e.epoch) + "|" + std::to_string(e.seq) + "|" +
                 std::to_string(e.oid) + "|" + std::to_string(e.hops) + "|" +
                 std::to_string(e.re_epoch) + "|" + e.about + "|" + e.sig;
  return record;
}

std::optional<frames::Fwd> from_outbox_record(const store::OutboxRecord& record) {
  // Split at every '|' (none can occur in a name, a number or hex): empty fields stay.
  std::vector<std::string_view> parts;
  std::string_view rest = record.route;
  if (rest.empty()) return std::nullopt;
  for (;;) {
    const std::size_t bar = rest.find('|');
    parts.push_back(rest.substr(0, bar));
    if (bar == std::string_view::npos) break;
    rest = rest.substr(bar + 1);
  }
  const std::optional<frames::MessageKind> kind = frames::kind_named(record.kind);
  if (parts.size() != 8 || !protocol::is_valid_name(parts[0]) || !kind) return std::nullopt;
  std::uint64_t numbers[5] = {};
  for (std::size_t i = 0; i < 5; ++i) {
    std::string_view digits = parts[i + 1];
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), numbers[i]);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  }
  frames::Fwd e;
  e.id = record.id;
  e.origin = std::string(parts[0]);
  e.dest = record.peer;
  e.epoch = numbers[0];
  e.seq = numbers[1];
  e.oid = numbers[2];
  e.hops = numbers[3];
  e.re_epoch = numbers[4];
  e.about = std::string(parts[6]);
  e.sig = std::string(parts[7]);
  e.kind = *kind;
  e.from = record.sender;
  e.to = record.target;
  e.text = record.text;
  e.time = record.time;
  return e;
}

std::string signed_bytes(const frames::Fwd& e) {
  std::string bytes = "realmchat-envelope-v1";
  auto field = [&bytes](std::string_view value) {
    bytes += std::to_string(value.size());
    bytes += ':';
    bytes += value;
  };
  for (std::string_view value : {std::string_view(e.origin), std::string_view(e.dest)})
    field(value);
  for (std::uint64_t number : {e.epoch, e.seq, e.oid, e.re_epoch}) field(std::to_string(number));
  field(frames::kind_name(e.kind));
  for (const std::string* value : {&e.from, &e.to, &e.text, &e.time, &e.about}) field(*value);
  return bytes;
}

}  // namespace chat::core
