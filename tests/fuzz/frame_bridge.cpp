#include "frame_bridge.hpp"

#include <variant>

namespace fuzz {
namespace {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
// clang 14 has no class template argument deduction for aggregates yet.
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace

namespace core = chat::core;
namespace federation = chat::federation;

federation::Frame to_wire(const core::PeerFrame& frame) {
  return std::visit(
      Overloaded{[](const core::PeerMessage& m) -> federation::Frame {
                   return federation::Msg{
                       .id = m.id,
                       .kind = m.group ? federation::MsgKind::group : federation::MsgKind::user,
                       .from = m.from,
                       .to = m.to,
                       .text = m.text,
                       .time = m.time};
                 },
                 [](const core::PeerAck& a) -> federation::Frame {
                   return federation::Ack{.id = a.id,
                                          .ok = a.ok,
                                          .error = a.ok ? std::nullopt : std::optional(a.error)};
                 },
                 [](const core::PeerFetch& f) -> federation::Frame {
                   return federation::Fetch{.rid = f.rid, .user = f.user};
                 },
                 [](const core::PeerFetched& f) -> federation::Frame {
                   return federation::Fetched{.rid = f.rid};
                 }},
      frame);
}

std::optional<core::PeerFrame> from_wire(const federation::Frame& frame) {
  if (const auto* m = std::get_if<federation::Msg>(&frame)) {
    return core::PeerMessage{.id = m->id,
                             .group = m->kind == federation::MsgKind::group,
                             .from = m->from,
                             .to = m->to,
                             .text = m->text,
                             .time = m->time};
  }
  if (const auto* a = std::get_if<federation::Ack>(&frame)) {
    return core::PeerAck{.id = a->id, .ok = a->ok, .error = a->error.value_or("")};
  }
  if (const auto* f = std::get_if<federation::Fetch>(&frame)) {
    return core::PeerFetch{.rid = f->rid, .user = f->user};
  }
  if (const auto* f = std::get_if<federation::Fetched>(&frame)) {
    return core::PeerFetched{.rid = f->rid};
  }
  return std::nullopt;
}

}  // namespace fuzz
