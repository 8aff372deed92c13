#pragma once
#include <cstdint>
#include <span>
#include <stdexcept>

#include "store/records.hpp"

namespace chat::store {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A commit refused because this process no longer holds the realm's lease: another process
// serves the realm now (fencing; docs/architecture.md "Lease and fencing").
struct FencedError : StoreError {
  using StoreError::StoreError;
};

// The durable store of one realm. Not thread-safe: realmd calls load() once at start and
// then commit() only from its commit thread.
class Store {
 public:
  virtual ~Store() = default;
  virtual Snapshot load() = 0;
  // Applies every mutation of the batch in one transaction; durable when it returns
  // (per the configured durability). Throws StoreError and applies nothing on failure.
  virtual void commit(std::span<const Mutation> batch) = 0;
  // For a store several processes share (PostgresStore): from now on every commit checks, in
  // its own transaction, that `epoch` is still the realm's lease epoch, and throws FencedError
  // (applying nothing) once it is not. A store of one process ignores it.
  virtual void fence(std::uint64_t epoch) { (void)epoch; }
};

}  // namespace chat::store
