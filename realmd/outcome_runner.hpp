#pragma once
#include <cstdint>
#include <functional>

#include "core/outcome.hpp"

namespace realmd {

class CommitQueue;
class PeerLinks;
class ReplyWaits;

// Carries out the parts of a core::Outcome that belong to the realm rather than to the
// connection it came from: mutations to the commit queue, completions to the waiting replies,
// frames, dials, route announcements and pinned keys to the realm's links (PeerLinks), pushes to
// watching client connections. Every Outcome goes through here (client requests, password
// results, wait timeouts, link events, peer frames), so none of these is ever carried out twice
// or forgotten.
class OutcomeRunner {
 public:
  // Writes a live delivery to a watching client connection once commit `seq` is done.
  using Push = std::function<void(chat::core::Push& push, std::uint64_t seq)>;

  // All but `push` outlive it; `links` may be constructed after it (it is used from run() on).
  OutcomeRunner(CommitQueue& commits, ReplyWaits& waits, PeerLinks& links, Push push);

  // Takes `mutations`, `completions`, `frames`, `dial` and `pushes` out of `outcome`; the caller
  // keeps what concerns its own connection (reply, wait, fetched_after_write, close). Returns the
  // commit sequence number of the mutations: the caller's reply waits for it too.
  std::uint64_t run(chat::core::Outcome& outcome);

 private:
  CommitQueue& commits_;
  ReplyWaits& waits_;
  PeerLinks& links_;
  Push push_;
};

}  // namespace realmd
