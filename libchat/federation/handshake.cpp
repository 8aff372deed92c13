#include "federation/handshake.hpp"

#include <sodium.h>

#include <array>
#include <stdexcept>
#include <utility>

namespace chat::federation {

using namespace frames;  // hello and auth

namespace {

constexpr std::size_t nonce_bytes = 32;
using MacBytes = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

std::string_view role_name(LinkRole role) {
  return role == LinkRole::dialer ? "dialer" : "acceptor";
}

// The _init/_update/_final API is standard HMAC with a key of any length (the one-shot
// crypto_auth_hmacsha256 wants exactly 32 bytes), so the configured secret is used as is.
MacBytes mac_bytes(std::string_view secret, LinkRole signer, const LinkTranscript& t) {
  const auto bytes = [](std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
  };
  const bool dialer_signs = signer == LinkRole::dialer;
  const std::string dialer_epoch = std::to_string(t.dialer_epoch);
  const std::string acceptor_epoch = std::to_string(t.acceptor_epoch);
  const std::string_view parts[] = {"realmchat-link-v2",
                                    role_name(signer),
                                    dialer_signs ? t.dialer : t.acceptor,
                                    dialer_signs ? t.acceptor : t.dialer,
                                    t.dialer_nonce,
                                    t.acceptor_nonce,
                                    dialer_epoch,
                                    acceptor_epoch};
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, bytes(secret), secret.size());
  bool first = true;
  for (const std::string_view part : parts) {
    if (!first) crypto_auth_hmacsha256_update(&state, bytes("|"), 1);
    first = false;
    crypto_auth_hmacsha256_update(&state, bytes(part), part.size());
  }
  MacBytes mac;
  crypto_auth_hmacsha256_final(&state, mac.data());
  sodium_memzero(&state, sizeof state);
  return mac;
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  std::string hex(size * 2 + 1, '\0');  // sodium_bin2hex writes a terminating NUL
  sodium_bin2hex(hex.data(), hex.size(), data, size);
  hex.pop_back();
  return hex;
}

}  // namespace

std::string random_nonce() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  std::array<unsigned char, nonce_bytes> nonce;
  randombytes_buf(nonce.data(), nonce.size());
  return to_hex(nonce.data(), nonce.size());
}

std::string link_mac(std::string_view secret, LinkRole signer, const LinkTranscript& transcript) {
  const MacBytes mac = mac_bytes(secret, signer, transcript);
  return to_hex(mac.data(), mac.size());
}

Handshake Handshake::dialing(Own own, std::string secret, std::string expected_peer,
                             NonceSource nonces) {
  return Handshake(std::move(own), std::move(secret), std::move(expected_peer), nullptr,
                   std::move(nonces));
}

Handshake Handshake::accepting(Own own, std::string secret, PeerFilter is_known_peer,
                               NonceSource nonces) {
  return Handshake(std::move(own), std::move(secret), std::nullopt, std::move(is_known_peer),
                   std::move(nonces));
}

Handshake::Handshake(Own own, std::string secret, std::optional<std::string> expected_peer,
                     PeerFilter is_known_peer, NonceSource nonces)
    : own_(std::move(own)),
      secret_(std::move(secret)),
      expected_peer_(std::move(expected_peer)),
      is_known_peer_(std::move(is_known_peer)),
      own_nonce_(nonces()) {}

std::string Handshake::start() const {
  return encode(Hello{.v = link_version,
                      .realm = own_.name,
                      .nonce = own_nonce_,
                      .epoch = own_.epoch,
                      .max_text = own_.max_text});
}

Handshake::Step Handshake::on_frame(const Frame& frame) {
  if (state_ != State::waiting) return current();
  if (const auto* hello = std::get_if<Hello>(&frame)) return on_hello(*hello);
  if (const auto* auth = std::get_if<Auth>(&frame)) return on_auth(*auth);
  return fail("unexpected " + std::string(type_name(frame)) + " frame during the handshake");
}

// Names in reasons are safe to log: the decoder admitted only [A-Za-z0-9_.-]{1,32}.
Handshake::Step Handshake::on_hello(const Hello& hello) {
  if (!peer_nonce_.empty()) return fail("second hello from realm " + peer_);
  if (hello.v != link_version) {
    return fail("hello with unsupported version " + std::to_string(hello.v) + " (we speak " +
                std::to_string(link_version) + ")");
  }
  if (hello.max_text == 0) return fail("hello without max_text");
  if (hello.realm == own_.name) return fail("hello with our own realm name " + own_.name);
  if (expected_peer_ && hello.realm != *expected_peer_) {
    return fail("hello from realm " + hello.realm + ", but we dialed " + *expected_peer_);
  }
  if (!expected_peer_ && !is_known_peer_(hello.realm)) {
    return fail("hello from unknown realm " + hello.realm);
  }
  peer_ = hello.realm;
  peer_nonce_ = hello.nonce;
  peer_epoch_ = hello.epoch;
  peer_max_text_ = hello.max_text;
  if (role() == LinkRole::acceptor) return current();  // the dialer proves first
  sent_auth_ = true;
  return current({own_auth()});
}

Handshake::Step Handshake::on_auth(const Auth& auth) {
  if (peer_nonce_.empty()) return fail("auth before hello");
  if (!verify(auth)) return fail("wrong mac from realm " + peer_);
  state_ = State::authenticated;
  if (sent_auth_) return current();
  // The acceptor: the dialer is verified, so now, and only now, this side signs.
  sent_auth_ = true;
  return current({own_auth()});
}

LinkTranscript Handshake::transcript() const {
  const bool dialer = role() == LinkRole::dialer;
  return LinkTranscript{.dialer = dialer ? own_.name : peer_,
                        .acceptor = dialer ? peer_ : own_.name,
                        .dialer_nonce = dialer ? own_nonce_ : peer_nonce_,
                        .acceptor_nonce = dialer ? peer_nonce_ : own_nonce_,
                        .dialer_epoch = dialer ? own_.epoch : peer_epoch_,
                        .acceptor_epoch = dialer ? peer_epoch_ : own_.epoch};
}

std::string Handshake::own_auth() const {
  return encode(Auth{.mac = link_mac(secret_, role(), transcript())});
}

bool Handshake::verify(const Auth& auth) const {
  const MacBytes expected = mac_bytes(secret_, peer_role(), transcript());
  MacBytes received;
  std::size_t received_size = 0;
  const bool is_hex = sodium_hex2bin(received.data(), received.size(), auth.mac.data(),
                                     auth.mac.size(), nullptr, &received_size, nullptr) == 0;
  return is_hex && received_size == received.size() &&
         sodium_memcmp(received.data(), expected.data(), expected.size()) == 0;
}

Handshake::Step Handshake::fail(std::string reason) {
  state_ = State::failed;
  failure_ = std::move(reason);
  return current();
}

Handshake::Step Handshake::current(std::vector<std::string> send) const {
  return Step{.send = std::move(send),
              .state = state_,
              .failure = failure_,
              .peer = peer_,
              .peer_epoch = peer_epoch_,
              .peer_max_text = peer_max_text_};
}

}  // namespace chat::federation
