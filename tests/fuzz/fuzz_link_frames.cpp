// Realm-link lines through the frame codec and the handshake. Each input line is decoded;
// whatever decodes must encode to compact JSON that decodes to the same frame (and encodes to
// the same line again), and a refusal must give a printable reason. Decoded frames go to the
// current handshake session, none of which may ever authenticate: the fuzzer does not know the
// secret, and an accepting session may never send a mac at all (handshake v2: the acceptor
// signs only after it verified the dialer, which the fuzzer cannot make it do). Control lines model
// an attacker who can also use what alpha itself says:
//   @0 @1 @2         switch to session 0 or 1 (alpha accepting) or 2 (alpha dialing beta)
//   @reflect         send the current session the last auth line any session sent
//   @hello NAME K    send a hello from NAME that carries session K's own nonce
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "federation/frames.hpp"
#include "federation/handshake.hpp"
#include "fuzz_checks.hpp"

namespace {

namespace federation = chat::federation;
namespace frames = chat::frames;
using federation::Handshake;

constexpr std::string_view secret = "fuzz-link-secret";
constexpr std::size_t max_text_bytes = 100;  // small, so the length check is reachable

// Fixed nonces: a crash must replay the same way.
std::string session_nonce(int session) {
  return std::string(63, '0') + static_cast<char>('a' + session);
}

const Handshake::Own alpha{.name = "alpha", .epoch = 1, .max_text = max_text_bytes};

Handshake make_session(int session) {
  auto nonce = [session] { return session_nonce(session); };
  if (session == 2) return Handshake::dialing(alpha, std::string(secret), "beta", nonce);
  return Handshake::accepting(
      alpha, std::string(secret), [](std::string_view realm) { return realm != "alpha"; }, nonce);
}

// Decodes `line`; checks the round trip of what decodes and the reason of what does not.
std::optional<frames::Frame> decode_checked(std::string_view line) {
  federation::DecodeResult first = federation::decode(line, max_text_bytes);
  if (!first.ok()) {
    if (first.error.empty()) fuzz::fail("a refused line without a reason", line);
    for (char c : first.error) {
      if (c < 0x20 || c > 0x7e) fuzz::fail("a refusal reason that is not printable", first.error);
    }
    return std::nullopt;
  }
  const std::string encoded = federation::encode(*first.frame);
  fuzz::check_frame_line(encoded);
  const federation::DecodeResult second = federation::decode(encoded, max_text_bytes);
  if (!second.ok()) fuzz::fail("an encoded frame does not decode: " + second.error, encoded);
  if (*second.frame != *first.frame) fuzz::fail("a frame changed through encode/decode", line);
  if (federation::encode(*second.frame) != encoded) {
    fuzz::fail("encode is not stable across a round trip", encoded);
  }
  return std::move(first.frame);
}

// The one handshake property that matters, plus the consistency of what a step says.
void check_step(const Handshake& session, bool accepting, const Handshake::Step& step,
                std::string& last_auth) {
  if (accepting && !step.send.empty()) {
    fuzz::fail("an acceptor signed for a dialer it had not verified", step.send.front());
  }
  if (step.state != session.state()) fuzz::fail("a step disagrees with the state", step.failure);
  if (step.state == Handshake::State::authenticated) {
    fuzz::fail("a handshake authenticated without the secret", step.peer);
  }
  if (step.state == Handshake::State::failed && step.failure.empty()) {
    fuzz::fail("a failed handshake without a reason", step.peer);
  }
  for (const std::string& line : step.send) {
    const std::optional<frames::Frame> sent = decode_checked(line);
    if (!sent || !std::holds_alternative<frames::Auth>(*sent)) {
      fuzz::fail("a handshake sent something other than an auth", line);
    }
    last_auth = line;
  }
}

// The positive control: with the secret, the right mac does authenticate; otherwise the
// property above would hold vacuously.
void check_right_mac_authenticates() {
  Handshake session = make_session(0);
  const std::string beta_nonce(64, 'b');
  session.on_frame(frames::Hello{.realm = "beta", .nonce = beta_nonce, .epoch = 2, .max_text = 5});
  const federation::LinkTranscript transcript{.dialer = "beta",
                                              .acceptor = "alpha",
                                              .dialer_nonce = beta_nonce,
                                              .acceptor_nonce = session_nonce(0),
                                              .dialer_epoch = 2,
                                              .acceptor_epoch = 1};
  const Handshake::Step step = session.on_frame(
      frames::Auth{.mac = federation::link_mac(secret, federation::LinkRole::dialer, transcript)});
  if (step.state != Handshake::State::authenticated || step.send.size() != 1) {
    fuzz::fail("the right mac does not authenticate", step.failure);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  check_right_mac_authenticates();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::array<Handshake, 3> sessions = {make_session(0), make_session(1), make_session(2)};
  for (Handshake& session : sessions) {
    const std::optional<frames::Frame> hello = decode_checked(session.start());
    if (!hello || !std::holds_alternative<frames::Hello>(*hello)) {
      fuzz::fail("start() is not a hello", session.start());
    }
  }
  std::size_t current = 0;
  std::string last_auth;

  std::size_t pos = 0;
  while (pos < input.size()) {
    std::size_t end = input.find('\n', pos);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(pos, end - pos);
    pos = end + 1;

    std::string frame_line(line);
    if (line.size() == 2 && line[0] == '@' && line[1] >= '0' && line[1] <= '2') {
      current = static_cast<std::size_t>(line[1] - '0');
      continue;
    }
    if (line == "@reflect") {
      if (last_auth.empty()) continue;
      frame_line = last_auth;
    } else if (line.starts_with("@hello ") && line.size() >= 9) {
      const char session = line.back();
      if (session < '0' || session > '2') continue;
      const std::string_view name = line.substr(7, line.size() - 9);
      // Built as a line and decoded, so the handshake only ever sees what the decoder admits.
      frame_line = R"({"t":"hello","v":2,"realm":")" + std::string(name) + R"(","nonce":")" +
                   session_nonce(session - '0') + R"(","epoch":3,"max_text":100})";
    }

    const std::optional<frames::Frame> frame = decode_checked(frame_line);
    if (!frame) continue;
    Handshake& session = sessions[current];
    const Handshake::State before = session.state();
    const Handshake::Step step = session.on_frame(*frame);
    if (before == Handshake::State::failed && step.state != Handshake::State::failed) {
      fuzz::fail("a failed handshake came back", step.failure);
    }
    check_step(session, current != 2, step, last_auth);
  }
  return 0;
}
