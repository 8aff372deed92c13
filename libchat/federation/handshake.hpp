#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "federation/frames.hpp"

// One side of the realm-link handshake, version 2 (docs/protocol.md §2), as a pure state
// machine: the caller sends what start() and on_frame() return and closes the link when the
// state is failed.
//
//   both sides, at once:    {"t":"hello","v":2,"realm":OWN,"nonce":N,"epoch":E,"max_text":M}
//   dialer, after hellos:   {"t":"auth","mac":hex(mac(dialer))}
//   acceptor, only after it verified the dialer's mac:   {"t":"auth","mac":hex(mac(acceptor))}
//
//   mac(role) = HMAC-SHA256(secret, "realmchat-link-v2" | role | sender | receiver |
//                           dialer nonce | acceptor nonce | dialer epoch | acceptor epoch)
//
// Why this order (version 1 signed whatever nonce it was shown, before it had checked the other
// side, so an attacker could relay one realm's proof to another): the acceptor signs nothing
// until the dialer proved it holds the secret over both nonces, and the dialer signs only after
// the acceptor's hello, for that one connection. Both nonces, both names and both roles are in
// each mac, so no mac made for one connection, direction or role verifies in another. A realm
// dials only the addresses its config (or an admin) gave it, so an off-path attacker never gets
// a dialer mac for a connection it holds. The "|" is one literal byte; it cannot occur in a
// realm name, a role, hex or a decimal number, so the input is unambiguous. The secret never
// leaves this class: it is in no frame and no failure reason.
namespace chat::federation {

// Generates a hello nonce: 64 lowercase hex characters.
using NonceSource = std::function<std::string()>;

// 32 bytes from libsodium's randombytes_buf, hex encoded.
std::string random_nonce();

// What one side puts under its mac: everything that identifies the connection.
struct LinkTranscript {
  std::string dialer;  // realm names
  std::string acceptor;
  std::string dialer_nonce;
  std::string acceptor_nonce;
  std::uint64_t dialer_epoch = 0;
  std::uint64_t acceptor_epoch = 0;
};

// hex(mac(signer)) over `transcript` (see above): the mac the side in role `signer` sends.
std::string link_mac(std::string_view secret, LinkRole signer, const LinkTranscript& transcript);

class Handshake {
 public:
  enum class State { waiting, authenticated, failed };

  struct Step {
    std::vector<std::string> send;  // encoded frame lines to send, in order (no "\n")
    State state = State::waiting;
    std::string failure;              // why, when failed (for the log)
    std::string peer;                 // the peer's realm name once its hello was accepted
    std::uint64_t peer_epoch = 0;     // from the peer's hello
    std::uint64_t peer_max_text = 0;  // from the peer's hello
  };

  // What this side announces in its hello.
  struct Own {
    std::string name;
    std::uint64_t epoch = 0;     // this process's id-sequence epoch
    std::uint64_t max_text = 0;  // the longest message text it takes
  };

  using PeerFilter = std::function<bool(std::string_view realm)>;

  // We dialed `expected_peer`: a hello naming any other realm fails.
  static Handshake dialing(Own own, std::string secret, std::string expected_peer,
                           NonceSource nonces = random_nonce);
  // We accepted a connection: any realm `is_known_peer` approves may link.
  static Handshake accepting(Own own, std::string secret, PeerFilter is_known_peer,
                             NonceSource nonces = random_nonce);

  // Our hello line. Send it first, once.
  std::string start() const;

  // Feeds one frame received during the handshake. Once finished (authenticated or failed),
  // further frames change nothing and the final step is returned again.
  Step on_frame(const frames::Frame& frame);

  State state() const { return state_; }
  // Whether this side has sent its mac (the dialer: after the acceptor's hello).
  bool proved() const { return sent_auth_; }
  const std::string& peer() const { return peer_; }

 private:
  Handshake(Own own, std::string secret, std::optional<std::string> expected_peer,
            PeerFilter is_known_peer, NonceSource nonces);

  LinkRole role() const { return expected_peer_ ? LinkRole::dialer : LinkRole::acceptor; }
  LinkRole peer_role() const { return expected_peer_ ? LinkRole::acceptor : LinkRole::dialer; }
  LinkTranscript transcript() const;
  bool verify(const frames::Auth& auth) const;
  std::string own_auth() const;

  Step on_hello(const frames::Hello& hello);
  Step on_auth(const frames::Auth& auth);
  Step fail(std::string reason);
  Step current(std::vector<std::string> send = {}) const;

  Own own_;
  std::string secret_;
  std::optional<std::string> expected_peer_;  // set when we dialed
  PeerFilter is_known_peer_;                  // used when we accepted
  std::string own_nonce_;
  std::string peer_nonce_;
  std::string peer_;  // set once the peer's hello is accepted
  std::uint64_t peer_epoch_ = 0;
  std::uint64_t peer_max_text_ = 0;
  bool sent_auth_ = false;
  State state_ = State::waiting;
  std::string failure_;
};

}  // namespace chat::federation
