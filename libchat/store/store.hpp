#pragma once
#include <memory>
#include <span>
#include <stdexcept>

#include "store/records.hpp"

namespace chat::store {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads history for `history` requests, on a thread of its own (realmd's history readers):
// it may run concurrently with Store::commit() on the commit thread and with other readers,
// and sees every transaction that commit() has returned from. One reader is used by one
// thread at a time.
class HistoryReader {
 public:
  virtual ~HistoryReader() = default;
  // Throws StoreError.
  virtual HistoryPage read_history(const HistoryQuery& query) = 0;
};

// The durable store of one realm. Not thread-safe: realmd calls load() once at start and
// then commit() only from its commit thread; history is read through HistoryReaders.
class Store {
 public:
  virtual ~Store() = default;
  virtual Snapshot load() = 0;
  // Applies every mutation of the batch in one transaction; durable when it returns
  // (per the configured durability). Throws StoreError and applies nothing on failure.
  virtual void commit(std::span<const Mutation> batch) = 0;
  // A new reader (e.g. its own database connection), opened on the thread that calls load().
  // A reader must not outlive its store. Throws StoreError.
  virtual std::unique_ptr<HistoryReader> open_history_reader() = 0;
};

}  // namespace chat::store
