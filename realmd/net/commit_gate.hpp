#pragma once
#include <cstdint>
#include <functional>

namespace realmd {

// What a Channel needs of the store's commits: a reply leaves only once the sequence number it
// carries is committed (docs/design.md §3). CommitQueue is the real gate; a test gives the
// channel one it commits and stalls by hand. Everything runs on the event loop.
class CommitGate {
 public:
  virtual ~CommitGate() = default;

  // The highest sequence number known to be committed.
  virtual std::uint64_t committed() const = 0;
  // True while the store cannot commit (replies that asked for it answer with an error).
  virtual bool stalled() const = 0;
  // Calls `wake` on the loop once `seq` is committed (at once if it already is).
  virtual void when_committed(std::uint64_t seq, std::function<void()> wake) = 0;
  // Calls `wake` on the loop once `seq` is committed or the gate stalls, whichever is first
  // (at once if either holds already).
  virtual void when_committed_or_stalled(std::uint64_t seq, std::function<void()> wake) = 0;

 protected:
  CommitGate() = default;
  CommitGate(const CommitGate&) = default;
  CommitGate& operator=(const CommitGate&) = default;
};

}  // namespace realmd
