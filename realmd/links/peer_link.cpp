#include "links/peer_link.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <utility>
#include <variant>

#include "federation/frames.hpp"
#include "net/coroutine_exit.hpp"
#include "net/endpoint_formatter.hpp"
#include "ops/logging.hpp"
#include "outcome_runner.hpp"

namespace realmd {
namespace {

namespace federation = chat::federation;
namespace frames = chat::frames;
using Clock = std::chrono::steady_clock;

// A link is dropped after this many keepalive periods without receiving anything.
constexpr int silent_periods = 3;

federation::Handshake make_handshake(const PeerLinkServices& services,
                                     const std::optional<std::string>& dialed_peer) {
  chat::core::Realm& realm = services.realm;
  federation::Handshake::Own own{.name = realm.settings().name,
                                 .epoch = realm.environment().epoch,
                                 .max_text = realm.settings().limits.max_message_bytes};
  if (dialed_peer) return federation::Handshake::dialing(own, services.secret, *dialed_peer);
  return federation::Handshake::accepting(own, services.secret, [&realm](std::string_view name) {
    return realm.accepts_link_from(name);
  });
}

std::string remote_of(const Stream& stream) {
  const asio::ip::tcp::socket& socket = stream.tcp();
  std::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("unknown address") : fmt::format("{}", endpoint);
}

}  // namespace

PeerLink::PeerLink(Stream stream, std::uint64_t id, Limits limits, PeerLinkServices services,
                   std::optional<std::string> dialed_peer)
    : Channel(std::move(stream), limits, services.commits, "\n"),
      id_(id),
      services_(std::move(services)),
      dialed_peer_(std::move(dialed_peer)),
      remote_(remote_of(this->stream())),
      handshake_(make_handshake(services_, dialed_peer_)),
      peer_(dialed_peer_.value_or("")),
      timer_(executor()) {
  set_label(dialed_peer_ ? fmt::format("link {} to {} ({})", id_, peer_, remote_)
                         : fmt::format("link {} from {}", id_, remote_));
}

void PeerLink::open() {
  opened_at_ = Clock::now();
  last_received_ = opened_at_;
  send_line(handshake_.start(), 0);
  start();
  auto self = std::static_pointer_cast<PeerLink>(shared_from_this());
  asio::co_spawn(
      executor(), [self] { return self->watch(); },
      [self](std::exception_ptr error) {
        if (log_coroutine_failure(error, self->label() + ": timer")) {
          self->close(CloseReason::internal_error);
        }
      });
}

void PeerLink::send(const frames::PeerFrame& frame, std::uint64_t seq) {
  send_line(federation::encode(frames::link_frame(frame)), seq);
}

void PeerLink::supersede() {
  link_phase_ = LinkPhase::superseded;
  failure_ = std::string(to_string(CloseReason::duplicate_link));
  close(CloseReason::duplicate_link);
}

void PeerLink::send_line(std::string line, std::uint64_t seq) {
  last_sent_ = Clock::now();
  push({.text = std::move(line), .commit_seq = seq, .ids = {}, .close_after = {}});
}

asio::awaitable<void> PeerLink::on_request(std::string_view line) {
  last_received_ = Clock::now();
  federation::DecodeResult decoded = federation::decode(line, services_.max_text_bytes);
  if (!decoded.ok()) {
    // A peer that speaks garbage is broken (or not a realm): nothing it says can be trusted.
    fail(CloseReason::bad_frame, decoded.error);
    co_return;
  }
  if (link_phase_ == LinkPhase::handshaking) {
    handshake_step(*decoded.frame);
  } else {
    linked_frame(*decoded.frame);
  }
}

void PeerLink::handshake_step(const frames::Frame& frame) {
  federation::Handshake::Step step = handshake_.on_frame(frame);
  if (!dialed_peer_ && peer_.empty() && !step.peer.empty()) {
    peer_ = step.peer;
    set_label(fmt::format("link {} from {} ({})", id_, peer_, remote_));
  }
  // Over TLS the certificate (verified against the cluster's CA) must name the realm the hello
  // claims: a realm cannot speak for another with its own certificate. Checked before we answer,
  // so that the impostor's side never sees the handshake succeed (and redials with backoff).
  if (!step.peer.empty() && stream().is_tls() && !stream().certificate_names(step.peer)) {
    fail(CloseReason::handshake_failed, "its TLS certificate does not name realm " + step.peer);
    return;
  }
  for (std::string& line : step.send) send_line(std::move(line), 0);
  if (step.state == federation::Handshake::State::failed) {
    fail(CloseReason::handshake_failed, step.failure);
    return;
  }
  if (step.state != federation::Handshake::State::authenticated) return;

  link_phase_ = LinkPhase::authenticated;
  if (!services_.authenticated(std::static_pointer_cast<PeerLink>(shared_from_this()))) {
    failure_ = std::string(to_string(CloseReason::duplicate_link));
    close(CloseReason::duplicate_link);
    return;
  }
  link_phase_ = LinkPhase::linked;
  spdlog::info("{}: linked to realm {}", label(), peer_);
  timer_.cancel();  // the watch switches from the handshake deadline to keepalive
  chat::core::Outcome outcome = services_.realm.link_up(peer_, step.peer_max_text);
  services_.outcomes.run(outcome);
}

void PeerLink::linked_frame(const frames::Frame& frame) {
  if (std::holds_alternative<frames::Ping>(frame)) {
    send_line(federation::encode(frames::Pong{}), 0);
    return;
  }
  if (std::holds_alternative<frames::Pong>(frame)) return;  // receiving it was the point
  std::optional<frames::PeerFrame> message = frames::peer_frame(frame);
  if (!message) {
    fail(CloseReason::bad_frame,
         "unexpected " + std::string(federation::type_name(frame)) + " after the handshake");
    return;
  }
  chat::core::Outcome outcome = services_.realm.peer_frame(peer_, *message);
  // Security events of a peer's frames (a routed message with a bad signature, a key that
  // does not match the pinned one): the audit trail, with the link's label.
  for (const std::string& event : outcome.audit) audit().warn("{}: {}", label(), event);
  services_.outcomes.run(outcome);
}

void PeerLink::on_request_too_long() {
  fail(CloseReason::line_too_long, "a frame over the frame size limit");
}

void PeerLink::fail(CloseReason reason, const std::string& detail) {
  if (is_closed()) return;
  // The reasons come from the decoder and the handshake: they name realms and fields, never
  // field values or the secret.
  spdlog::warn("{}: {}: {}", label(), to_string(reason), detail);
  failure_ = std::string(to_string(reason)) + ": " + detail;
  close(reason);
}

asio::awaitable<void> PeerLink::watch() {
  const std::chrono::milliseconds keepalive = services_.keepalive;
  while (!is_closed()) {
    const Clock::time_point now = Clock::now();
    if (link_phase_ == LinkPhase::handshaking) {
      const Clock::time_point deadline = opened_at_ + handshake_timeout;
      if (now >= deadline) {
        fail(CloseReason::handshake_timeout,
             fmt::format("no authenticated hello within {}s", handshake_timeout.count()));
        co_return;
      }
      timer_.expires_at(deadline);
    } else {
      if (now - last_received_ >= silent_periods * keepalive) {
        fail(CloseReason::keepalive_timeout,
             fmt::format("nothing received for {} ms", (silent_periods * keepalive).count()));
        co_return;
      }
      if (now - last_sent_ >= keepalive) send_line(federation::encode(frames::Ping{}), 0);
      timer_.expires_at(
          std::min(last_sent_ + keepalive, last_received_ + silent_periods * keepalive));
    }
    std::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void PeerLink::on_closed(CloseReason reason) {
  timer_.cancel();
  if (failure_.empty() && dialed() && link_phase_ == LinkPhase::handshaking &&
      handshake_.proved() && reason == CloseReason::peer_closed) {
    // The acceptor checks our proof (and over TLS, that our certificate names us) before it
    // says anything: a close now is its refusal. The hint names what it may have refused.
    failure_ = "handshake failed: closed by realm " + peer_ + " before it authenticated (" +
               (stream().is_tls() ? "is federation.secret the same on both, and does our TLS "
                                    "certificate name this realm?)"
                                  : "is federation.secret the same on both?)");
  }
  if (failure_.empty()) failure_ = std::string(to_string(reason));
  if (link_phase_ == LinkPhase::linked) {
    spdlog::info("{}: down: {}", label(), failure_);
    chat::core::Outcome outcome = services_.realm.link_down(peer_, failure_);
    services_.outcomes.run(outcome);
  }
  released_ = true;
  // Last: a stopping server may finish its stop (and its commit queue) in there.
  services_.closed(*this);
}

}  // namespace realmd
