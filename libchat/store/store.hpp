#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "store/records.hpp"

namespace chat::store {

// A commit that failed. `permanent`: the data itself can never be stored (a constraint, a
// value out of range, a row too big), so retrying the same mutation would fail forever;
// otherwise the store itself is failing (disk full, I/O error, lock) and a retry may work.
struct StoreError : std::runtime_error {
  explicit StoreError(const std::string& what, bool permanent_error = false)
      : std::runtime_error(what), permanent(permanent_error) {}
  bool permanent = false;
};

// Mutation `index` of a batch can never be applied. Nothing of the batch was applied; the
// caller drops that one mutation and commits the rest, so one bad row never stalls the realm
// (docs/reliability.md).
struct MutationRejected : StoreError {
  MutationRejected(std::size_t mutation_index, const std::string& what)
      : StoreError(what, true), index(mutation_index) {}
  std::size_t index = 0;
};

// A commit refused because this process no longer holds the realm's lease: another process
// serves the realm now (fencing; docs/architecture.md "Lease and fencing").
struct FencedError : StoreError {
  using StoreError::StoreError;
};

// Receives the unread messages of Store::load_streaming one at a time. The record is valid
// only during the call (the store reuses it for the next row).
using UnreadSink = std::function<void(const MessageRecord&)>;

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

// How a HistoryReader reads; a store ignores what it has no use for.
struct HistoryReaderOptions {
  // SQLite: read pages through a memory map of the database file, not a pread() copy each.
  // Faster alone (docs/performance.md "History, session 8"), but SQLite drops the whole map at
  // every read transaction that follows a write, and each munmap() interrupts every core that
  // runs a thread of realmd (a TLB shootdown): a reader beside writes wants it off.
  bool memory_map = true;
};

// The durable store of one realm. Not thread-safe: realmd calls load() once at start and
// then commit() only from its commit thread; history is read through HistoryReaders.
class Store {
 public:
  virtual ~Store() = default;
  // Everything the realm restores at start (Snapshot::unread included).
  Snapshot load() {
    std::vector<MessageRecord> messages;
    Snapshot snapshot =
        load_streaming([&](const MessageRecord& message) { messages.push_back(message); });
    snapshot.unread = std::move(messages);
    return snapshot;
  }
  // The same, but the unread messages go to `unread` one at a time, by id ascending, instead
  // of into Snapshot::unread (left empty): nothing holds all of them at once, which at a
  // million unread was as much memory as the inboxes (docs/performance.md).
  virtual Snapshot load_streaming(const UnreadSink& unread) = 0;
  // Applies every mutation of the batch in one transaction; durable when it returns
  // (per the configured durability). Throws StoreError and applies nothing on failure.
  virtual void commit(std::span<const Mutation> batch) = 0;
  // The realm's secret signing key (opaque text to the store), kept with its data so that
  // every process serving the realm signs as the realm (docs/protocol.md §2, trust): the stored
  // one, or else `make()`'s, stored now. Insert-if-absent, then read back: processes racing to
  // create it all get the one stored first. Durable when it returns; throws StoreError. Called
  // like load(), before the commit thread starts.
  virtual std::string signing_key(const std::function<std::string()>& make) = 0;
  // Whether commit() of a small batch is cheap and bounded: no disk sync and no network round
  // trip (SQLite without `durability: fsync`, MemoryStore). realmd then commits small batches
  // on its event loop while the commit thread is idle, sparing each reply two thread hand-offs
  // (docs/architecture.md "Threading"); otherwise every commit runs on the commit thread.
  virtual bool commits_cheaply() const { return false; }
  // For a store several processes share (PostgresStore): from now on every commit checks, in
  // its own transaction, that `epoch` is still the realm's lease epoch, and throws FencedError
  // (applying nothing) once it is not. A store of one process ignores it.
  virtual void fence(std::uint64_t epoch) { (void)epoch; }
  // A new reader (e.g. its own database connection), opened on the thread that calls load().
  // A reader must not outlive its store. Throws StoreError.
  std::unique_ptr<HistoryReader> open_history_reader(const HistoryReaderOptions& options = {}) {
    return open_reader(options);
  }

 private:
  // open_history_reader(), without the default argument a virtual function should not have.
  virtual std::unique_ptr<HistoryReader> open_reader(const HistoryReaderOptions& options) = 0;
};

}  // namespace chat::store
