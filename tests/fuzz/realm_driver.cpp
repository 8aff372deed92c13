#include "realm_driver.hpp"

#include <cstdio>
#include <utility>
#include <variant>
#include <vector>

#include "federation/frames.hpp"
#include "fuzz_checks.hpp"
#include "protocol/command_parser.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"

namespace fuzz {

namespace core = chat::core;
namespace frames = chat::frames;
namespace protocol = chat::protocol;

namespace {

core::RealmSettings settings() {
  core::RealmSettings s;
  s.name = "alpha";
  s.admins = {"messi"};
  s.peers = {{"beta", "127.0.0.1", 9890, true}, {"gamma", "127.0.0.1", 9891, false}};
  s.limits.max_message_bytes = RealmDriver::max_message_bytes;
  s.max_outbox_per_peer = 4;
  s.link_window = 2;
  s.max_failed_auths = 3;
  s.max_inbox_reply_bytes = 128;
  return s;
}

}  // namespace

RealmDriver::RealmDriver()
    : realm_(settings(), core::Environment{.new_token = [this] { return token(++tokens_); },
                                           .now_utc = [] { return "2026-11-26T22:33:16Z"; },
                                           .now = [this] { return now_; }}),
      client_(next_connection_id_++) {}

std::string RealmDriver::token(int n) {
  char buf[37];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return buf;
}

void RealmDriver::seed_world() {
  core::Connection messi(next_connection_id_++), henderson(next_connection_id_++),
      lineker(next_connection_id_++);
  run_line(messi, "register messi surabaya Lionel_Messi Argentina");
  run_line(henderson, "register henderson surabaya Jordan_Henderson Inggris");
  run_line(lineker, "register lineker surabaya Gary_Lineker Inggris");
  run_line(messi, "addgroup kominfo");
  run_line(henderson, "joingroup kominfo");
  run_line(lineker, "send henderson hello from lineker");
  run_line(messi, "sendgroup kominfo rapat jam 9");
  for (core::Connection* conn : {&messi, &henderson, &lineker}) realm_.disconnected(*conn);
}

void RealmDriver::client_line(std::string_view line) {
  run_line(client_, line);
}

void RealmDriver::line_too_long() {
  deliver(protocol::reply::error(protocol::text::line_too_long), {});
  reconnect();
}

bool RealmDriver::accepts_link_from(std::string_view peer) const {
  return realm_.accepts_link_from(peer);
}

void RealmDriver::link_up(std::string_view peer) {
  carry_out(realm_.link_up(peer));
}

void RealmDriver::link_down(std::string_view peer) {
  carry_out(realm_.link_down(peer, "connection reset"));
}

void RealmDriver::peer_frame(std::string_view peer, const frames::PeerFrame& frame) {
  carry_out(realm_.peer_frame(peer, frame));
}

void RealmDriver::expire_waits() {
  const std::set<std::uint64_t> expiring = waiting_;
  for (std::uint64_t waiter : expiring) {
    if (!waiting_.contains(waiter)) continue;  // answered by an earlier expiry's outcome
    carry_out(realm_.wait_timed_out(waiter));
    if (waiting_.contains(waiter)) fail("a timed-out wait got no reply", std::to_string(waiter));
  }
}

void RealmDriver::run_line(core::Connection& conn, std::string_view line) {
  now_ += std::chrono::seconds(7);  // lockouts and session ages move on
  protocol::ParsedLine parsed;
  const bool blank = !protocol::parse_line(line, parsed);

  core::Outcome out = realm_.handle(conn, line);
  if (out.password) {
    if (out.has_reply() || out.wait) fail("a password job came with a reply", line);
    const core::PasswordResult result = run_password_job(*out.password);
    carry_out(out);
    out = realm_.resume(conn, result);
    if (out.password) fail("resume() asked for another password job", line);
  }
  // A history read is answered by realmd from the store (the reply is built there).
  const bool replies = out.has_reply() || out.wait.has_value() || out.history.has_value();
  if (blank && replies) fail("a blank line got a reply", line);
  if (!blank && !replies) fail("a request line got no reply", line);
  if (out.has_reply() && out.wait) fail("a reply that also waits", line);
  if (out.history && (out.has_reply() || out.wait)) fail("a history read with a reply", line);
  carry_out(out);
  if (out.close && &conn == &client_) reconnect();
}

core::PasswordResult RealmDriver::run_password_job(const core::PasswordJob& job) const {
  const std::string fake_hash = "fake$" + job.password;
  if (job.kind == core::PasswordJob::Kind::hash) return {.ok = true, .hash = fake_hash};
  return {.ok = job.hash == fake_hash, .hash = {}};
}

std::uint64_t RealmDriver::last_fetch_rid(std::string_view peer) const {
  const auto it = last_fetch_rid_.find(peer);
  return it == last_fetch_rid_.end() ? 0 : it->second;
}

void RealmDriver::carry_out(const core::Outcome& out) {
  for (const core::OutgoingFrame& frame : out.frames) {
    check_frame(frame);
    if (const auto* fetch = std::get_if<frames::Fetch>(&frame.frame)) {
      last_fetch_rid_[frame.peer] = fetch->rid;
    }
  }
  if (out.wait && !waiting_.insert(out.wait->waiter).second) {
    fail("a waiter id was handed out twice", std::to_string(out.wait->waiter));
  }
  for (const core::Completion& done : out.completions) {
    if (waiting_.erase(done.waiter) == 0) {
      fail("a completion for a waiter that is not waiting", std::to_string(done.waiter));
    }
    deliver(done.reply, done.fetched_after_write);
  }
  if (out.has_reply()) {
    deliver(out.reply, out.fetched_after_write);
  } else if (!out.fetched_after_write.empty()) {
    fail("inbox ids reserved without a reply", std::to_string(out.fetched_after_write.size()));
  }
}

void RealmDriver::deliver(const std::string& reply, const std::vector<std::uint64_t>& ids) {
  check_reply(reply);
  if (++replies_ % 5 == 0) {
    realm_.reply_lost(ids);
  } else {
    realm_.reply_written(ids);
  }
}

void RealmDriver::check_frame(const core::OutgoingFrame& frame) const {
  const std::string line = chat::federation::encode(frames::link_frame(frame.frame));
  check_frame_line(line);
  // The peer runs the same limits: whatever we send, it must accept.
  const chat::federation::DecodeResult decoded = chat::federation::decode(line, max_message_bytes);
  if (!decoded.ok()) fail("a frame for a peer does not decode: " + decoded.error, line);
  const std::optional<frames::PeerFrame> back = frames::peer_frame(*decoded.frame);
  if (!back || chat::federation::encode(frames::link_frame(*back)) != line) {
    fail("a frame for a peer does not decode to itself", line);
  }
}

void RealmDriver::reconnect() {
  realm_.disconnected(client_);
  client_ = core::Connection(next_connection_id_++);
}

}  // namespace fuzz
