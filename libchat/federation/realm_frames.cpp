#include "federation/realm_frames.hpp"

#include <variant>

namespace chat::federation {
namespace {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
// clang 14 has no class template argument deduction for aggregates yet.
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace

Frame to_link_frame(const core::PeerFrame& frame) {
  return std::visit(
      Overloaded{
          [](const core::PeerMessage& m) -> Frame {
            return Msg{.id = m.id,
                       .epoch = m.epoch,
                       .kind = m.group ? MsgKind::group : MsgKind::user,
                       .from = m.from,
                       .to = m.to,
                       .text = m.text,
                       .time = m.time};
          },
          [](const core::PeerAck& a) -> Frame {
            return Ack{
                .id = a.id, .ok = a.ok, .error = a.ok ? std::nullopt : std::optional(a.error)};
          },
          [](const core::PeerFetch& f) -> Frame { return Fetch{.rid = f.rid, .user = f.user}; },
          [](const core::PeerFetched& f) -> Frame { return Fetched{.rid = f.rid}; }},
      frame);
}

std::optional<core::PeerFrame> to_peer_frame(const Frame& frame) {
  if (const auto* m = std::get_if<Msg>(&frame)) {
    return core::PeerMessage{.id = m->id,
                             .epoch = m->epoch,
                             .group = m->kind == MsgKind::group,
                             .from = m->from,
                             .to = m->to,
                             .text = m->text,
                             .time = m->time};
  }
  if (const auto* a = std::get_if<Ack>(&frame)) {
    return core::PeerAck{.id = a->id, .ok = a->ok, .error = a->error.value_or("")};
  }
  if (const auto* f = std::get_if<Fetch>(&frame)) {
    return core::PeerFetch{.rid = f->rid, .user = f->user};
  }
  if (const auto* f = std::get_if<Fetched>(&frame)) {
    return core::PeerFetched{.rid = f->rid};
  }
  return std::nullopt;
}

}  // namespace chat::federation
