#pragma once
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "federation/frames.hpp"
#include "federation/handshake.hpp"
#include "support/line_client.hpp"

namespace test_support {

// A realm written by hand for tests: speaks handshake v2 as the dialer over a LineClient
// connected to a realm's peer port (docs/protocol.md §2), so a test can then send any frame,
// well-formed or not, as an authenticated peer.
struct HandMadePeer {
  std::string name;
  std::string secret;
  std::uint64_t epoch = 1;
  std::uint64_t max_text = 16384;

  std::string hello(const std::string& nonce) const {
    return chat::federation::encode(chat::frames::Hello{
        .v = 2, .realm = name, .nonce = nonce, .epoch = epoch, .max_text = max_text});
  }

  // Runs the whole handshake with the acceptor `acceptor`; returns the acceptor's hello. Throws
  // when the acceptor does not answer as a v2 realm that holds the secret.
  chat::frames::Hello dial(LineClient& line, const std::string& acceptor) const {
    namespace f = chat::federation;
    const std::string nonce = f::random_nonce();
    line.send(hello(nonce));
    const f::DecodeResult their_hello = f::decode(line.expect_line());
    if (!their_hello.ok() || !std::holds_alternative<chat::frames::Hello>(*their_hello.frame)) {
      throw std::runtime_error("no hello from the acceptor: " + their_hello.error);
    }
    const auto theirs = std::get<chat::frames::Hello>(*their_hello.frame);
    const f::LinkTranscript transcript{.dialer = name,
                                       .acceptor = acceptor,
                                       .dialer_nonce = nonce,
                                       .acceptor_nonce = theirs.nonce,
                                       .dialer_epoch = epoch,
                                       .acceptor_epoch = theirs.epoch};
    line.send(
        f::encode(chat::frames::Auth{.mac = f::link_mac(secret, f::LinkRole::dialer, transcript)}));
    const std::string expected = f::encode(
        chat::frames::Auth{.mac = f::link_mac(secret, f::LinkRole::acceptor, transcript)});
    if (line.expect_line() != expected) throw std::runtime_error("wrong auth from the acceptor");
    return theirs;
  }
};

// The next frame from a realm that is not a route announcement (a realm announces its routes
// on every link soon after it comes up, and again whenever they change).
inline std::string expect_frame(LineClient& line,
                                std::chrono::milliseconds timeout = LineClient::default_timeout) {
  for (;;) {
    std::string frame = line.expect_line(timeout);
    if (!frame.starts_with(R"({"t":"route")")) return frame;
  }
}

// The next frame of type `type` ("fwd", "route", ...) from a realm on a hand-made peer's link;
// pings are answered, anything else (announcements repeated, acks) skipped. Throws for a
// frame that does not decode, or when none comes within `timeout` (each).
inline chat::frames::Frame next_frame(
    LineClient& line, std::string_view type,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  namespace f = chat::federation;
  for (;;) {
    const f::DecodeResult decoded = f::decode(line.expect_line(timeout));
    if (!decoded.ok()) throw std::runtime_error("a frame that does not decode: " + decoded.error);
    if (std::holds_alternative<chat::frames::Ping>(*decoded.frame)) {
      line.send(f::encode(chat::frames::Pong{}));
      continue;
    }
    if (f::type_name(*decoded.frame) == type) return *decoded.frame;
  }
}

}  // namespace test_support
