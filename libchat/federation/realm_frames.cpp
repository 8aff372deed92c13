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

// The routing frames (docs/protocol.md §2, routing).
std::optional<core::PeerFrame> to_routing_frame(const Frame& frame) {
  if (const auto* r = std::get_if<Route>(&frame)) {
    core::PeerRoutes routes;
    routes.announcement.via_others = r->via_others;
    routes.announcement.keys = r->keys;
    for (const auto& path : r->routes) routes.announcement.routes.push_back({path});
    return routes;
  }
  if (const auto* e = std::get_if<Fwd>(&frame)) {
    return core::PeerForward{.id = e->id,
                             .origin = e->origin,
                             .dest = e->dest,
                             .epoch = e->epoch,
                             .seq = e->seq,
                             .hops = e->hops,
                             .kind = e->kind,
                             .from = e->from,
                             .to = e->to,
                             .text = e->text,
                             .time = e->time,
                             .oid = e->oid,
                             .re_epoch = e->re_epoch,
                             .about = e->about,
                             .sig = e->sig};
  }
  if (const auto* a = std::get_if<Fack>(&frame)) return core::PeerForwardAck{a->id};
  if (const auto* f = std::get_if<RFetch>(&frame)) {
    return core::PeerRouteFetch{f->rid, f->origin, f->dest, f->hops, f->user};
  }
  if (const auto* f = std::get_if<RFetched>(&frame)) {
    return core::PeerRouteFetched{f->rid, f->origin, f->dest, f->hops};
  }
  return std::nullopt;
}

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
          [](const core::PeerFetched& f) -> Frame { return Fetched{.rid = f.rid}; },
          [](const core::PeerRoutes& r) -> Frame {
            Route route{
                .via_others = r.announcement.via_others, .routes = {}, .keys = r.announcement.keys};
            for (const core::RoutePath& path : r.announcement.routes)
              route.routes.push_back(path.path);
            return route;
          },
          [](const core::PeerForward& e) -> Frame {
            return Fwd{.id = e.id,
                       .origin = e.origin,
                       .dest = e.dest,
                       .epoch = e.epoch,
                       .seq = e.seq,
                       .hops = e.hops,
                       .kind = e.kind,
                       .from = e.from,
                       .to = e.to,
                       .text = e.text,
                       .time = e.time,
                       .oid = e.oid,
                       .re_epoch = e.re_epoch,
                       .about = e.about,
                       .sig = e.sig};
          },
          [](const core::PeerForwardAck& a) -> Frame { return Fack{.id = a.id}; },
          [](const core::PeerRouteFetch& f) -> Frame {
            return RFetch{
                .rid = f.rid, .origin = f.origin, .dest = f.dest, .hops = f.hops, .user = f.user};
          },
          [](const core::PeerRouteFetched& f) -> Frame {
            return RFetched{.rid = f.rid, .origin = f.origin, .dest = f.dest, .hops = f.hops};
          }},
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
  return to_routing_frame(frame);
}

}  // namespace chat::federation
