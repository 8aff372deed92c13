#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "federation/frames.hpp"

// One side of the realm-link handshake (PROTOCOL.md §2), as a pure state machine: the caller
// sends what start() and on_frame() return and closes the link when the state is failed.
//
//   each side:  {"t":"hello","v":1,"realm":OWN,"nonce":N_own}
//   each side:  {"t":"auth","mac":hex(HMAC-SHA256(secret, N_peer "|" OWN "|" PEER))}
//
// The "|" is one literal '|' byte; it cannot occur in a realm name, and a nonce is fixed-length
// hex, so the MAC input is unambiguous. Putting the sender's name first makes the two macs of a
// link differ, so a peer's mac cannot be reflected back to it. The nonces make every session's
// macs fresh, so a recorded auth is useless in another session. The secret never leaves this
// class: it is in no frame and no failure reason.
namespace chat::federation {

// Generates a hello nonce: 64 lowercase hex characters.
using NonceSource = std::function<std::string()>;

// 32 bytes from libsodium's randombytes_buf, hex encoded.
std::string random_nonce();

// hex(HMAC-SHA256(secret, nonce "|" sender "|" receiver)): the mac `sender` puts in its auth,
// where `nonce` is the receiver's hello nonce.
std::string link_mac(std::string_view secret, std::string_view nonce, std::string_view sender,
                     std::string_view receiver);

class Handshake {
 public:
  enum class State { waiting, authenticated, failed };

  struct Step {
    std::vector<std::string> send;  // encoded frame lines to send, in order (no "\n")
    State state = State::waiting;
    std::string failure;  // why, when failed (for the log)
    std::string peer;     // the peer's realm name once its hello was accepted
  };

  using PeerFilter = std::function<bool(std::string_view realm)>;

  // We dialed `expected_peer`: a hello naming any other realm fails.
  static Handshake dialing(std::string own_name, std::string secret, std::string expected_peer,
                           NonceSource nonces = random_nonce);
  // We accepted a connection: any realm `is_known_peer` approves may link.
  static Handshake accepting(std::string own_name, std::string secret, PeerFilter is_known_peer,
                             NonceSource nonces = random_nonce);

  // Our hello line. Send it first, once.
  std::string start() const;

  // Feeds one frame received during the handshake. Once finished (authenticated or failed),
  // further frames change nothing and the final step is returned again.
  Step on_frame(const Frame& frame);

  State state() const { return state_; }
  const std::string& peer() const { return peer_; }

 private:
  Handshake(std::string own_name, std::string secret, std::optional<std::string> expected_peer,
            PeerFilter is_known_peer, NonceSource nonces);

  Step on_hello(const Hello& hello);
  Step on_auth(const Auth& auth);
  Step fail(std::string reason);
  Step current(std::vector<std::string> send = {}) const;

  std::string own_name_;
  std::string secret_;
  std::optional<std::string> expected_peer_;  // set when we dialed
  PeerFilter is_known_peer_;                  // used when we accepted
  std::string own_nonce_;
  std::string peer_nonce_;
  std::string peer_;  // set once the peer's hello is accepted
  State state_ = State::waiting;
  std::string failure_;
};

}  // namespace chat::federation
