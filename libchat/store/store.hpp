#pragma once
#include <span>
#include <stdexcept>

#include "store/records.hpp"

namespace chat::store {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
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
};

}  // namespace chat::store
