#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "core/outcome.hpp"

namespace realmd {

class CommitQueue;
class ReplyWaits;

// Carries out the parts of a core::Outcome that belong to the realm rather than to the
// connection it came from: mutations to the commit queue, completions to the waiting replies,
// frames to the peers' links, dials to the dialers, pushes to watching client connections. Every
// Outcome goes through here (client requests, password results, wait timeouts, link events, peer
// frames), so none of these is ever carried out twice or forgotten.
class OutcomeRunner {
 public:
  struct Links {
    // Sends a frame on the peer's current link once commit `seq` is done; with no link up the
    // frame is dropped (the outbox replays what matters when a link comes up).
    std::function<void(const chat::core::OutgoingFrame& frame, std::uint64_t seq)> send;
    // Starts linking to a peer (addrealm).
    std::function<void(const std::string& peer)> dial;
    // Writes a live delivery to a watching client connection once commit `seq` is done.
    std::function<void(chat::core::Push& push, std::uint64_t seq)> push;
    // The realm's routes changed: announce them soon (Realm::announce_routes).
    std::function<void()> announce;
    // A signing key of another realm was pinned: keep it across restarts.
    std::function<void(const std::string& realm, const std::string& public_key)> pin;
  };

  OutcomeRunner(CommitQueue& commits, ReplyWaits& waits, Links links);

  // Takes `mutations`, `completions`, `frames`, `dial` and `pushes` out of `outcome`; the caller
  // keeps what concerns its own connection (reply, wait, fetched_after_write, close). Returns the
  // commit sequence number of the mutations: the caller's reply waits for it too.
  std::uint64_t run(chat::core::Outcome& outcome);

 private:
  CommitQueue& commits_;
  ReplyWaits& waits_;
  Links links_;
};

}  // namespace realmd
