#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frames/link_frames.hpp"
#include "store/records.hpp"

namespace chat::core {

// A frame for the peer realm `peer`, sent once what the Outcome stored is committed.
struct OutgoingFrame {
  std::string peer;
  frames::PeerFrame frame;
};

// Work that must not run on the event loop: argon2id hashing or verification.
// realmd runs it on its hashing pool and hands the result to Realm::resume().
struct PasswordJob {
  enum class Kind { hash, verify };
  Kind kind = Kind::hash;
  std::string password;
  std::string hash;  // for verify: the stored argon2id string
  // Wait this long before running the job: a username under a guessing attack from many
  // addresses is slowed down for everyone, but never refused its right password.
  std::chrono::milliseconds delay{0};
};

struct PasswordResult {
  bool ok = false;   // verify: the password matched; hash: hashing succeeded
  std::string hash;  // hash: the new argon2id string
};

// A reply that waits for something a peer realm says (an ack, a fetched, a link coming up).
// realmd keeps the reply's place in the connection's order, arms a timer for `timeout`, and
// fills the place from the Completion with the same `waiter` id, or from
// Realm::wait_timed_out(waiter) when the timer fires first.
struct Wait {
  std::uint64_t waiter = 0;
  std::chrono::milliseconds timeout{0};
};

// The reply for a Wait (may come from any later Outcome, e.g. one made for a peer's frame).
struct Completion {
  std::uint64_t waiter = 0;
  std::string reply;
  std::vector<std::uint64_t> fetched_after_write;
};

// A message pushed to a connection that sent `watch`: {"event":"message","message":MSG}.
// Written like a reply (after the Outcome's commit, between replies); its ids become fetched
// once written, exactly as a reply's fetched_after_write.
struct Push {
  std::uint64_t connection = 0;
  std::string event;
  std::vector<std::uint64_t> fetched_after_write;
};

// What one request asks realmd to carry out (docs/design.md §3 "Effects"). Handlers only fill
// this in; they never touch sockets, files or clocks. realmd's order of execution:
//   1. queue `mutations` for the store (one group commit may hold many requests' mutations);
//   2. write `reply`, framed by the connection's wire format ("\r\n\r\n" after it on a line
//      connection, one text frame on a WebSocket), once everything queued so far is committed,
//      in request order;
//   3. after the write succeeded, call Realm::reply_written(fetched_after_write), or
//      Realm::reply_lost(...) if the connection died first;
//   4. close the connection after the reply if `close` is set.
// When `wait` is set, `reply` is empty too: see Wait.
// When `password` is set, `reply` is empty: run the job, then call Realm::resume(), which
// returns the Outcome that carries the reply. Process no further line of that connection
// until then (auth/register change the connection's session).
struct Outcome {
  std::string reply;
  std::vector<store::Mutation> mutations;
  std::vector<std::uint64_t> fetched_after_write;  // inbox ids reserved for this reply
  std::optional<PasswordJob> password;
  std::vector<Push> pushes;  // live deliveries to `watch`ing connections (any connection)
  bool close = false;
  // `history`: `reply` is empty; realmd keeps the reply's place, reads this page from the
  // store off the event loop once everything queued before the request is committed
  // (read-your-writes), and fills the place with core::history_reply(page).
  std::optional<store::HistoryQuery> history;

  // Federation. `frames` go out on the peers' links after `mutations` commit (an ack is
  // never sent for a message that is not stored yet). `dial`: peers to start linking to.
  std::optional<Wait> wait;  // set: `reply` is empty and comes later as a Completion
  std::vector<Completion> completions;
  std::vector<OutgoingFrame> frames;
  std::vector<std::string> dial;
  // The best routes changed (or a link came up): realmd calls Realm::announce_routes() after
  // at most settings' route_interval, folding every change made meanwhile into one
  // announcement per link (the damping of a flap storm).
  bool announce_routes = false;

  // Security events for the operator's log (failed logins, lockouts, admin actions): realmd
  // logs each with the connection's address. Never a password, token or secret.
  std::vector<std::string> audit;

  bool has_reply() const { return !reply.empty(); }
};

}  // namespace chat::core
