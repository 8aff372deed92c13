#pragma once
#include <cstdint>
#include <optional>

namespace chat::store {

// The lease of a realm that several processes may serve (docs/architecture.md "Lease and
// fencing"): one row in the shared store with its holder, epoch and expiry. The holder serves;
// the others wait. Every take-over raises the epoch, and the store refuses commits made under
// an older one (Store::fence). Calls block on the database; throw StoreError when it cannot be
// reached.
class Lease {
 public:
  virtual ~Lease() = default;
  // Takes the lease when nobody holds it or the holder's has expired: the new epoch, or
  // nothing while another process holds it.
  virtual std::optional<std::uint64_t> try_acquire() = 0;
  // Extends the lease taken with `epoch`; false when it is not ours any more (taken over).
  virtual bool renew(std::uint64_t epoch) = 0;
  // Gives it up at a clean stop, so that a standby takes over at once.
  virtual void release(std::uint64_t epoch) = 0;
};

}  // namespace chat::store
