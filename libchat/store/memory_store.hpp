#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace chat::store {

// The Store contract kept in memory, for unit tests of core and realmd: the same keys, the
// same all-or-nothing batches and the same error messages as SqliteStore, without durability.
class MemoryStore final : public Store {
 public:
  Snapshot load_streaming(const UnreadSink& unread) override;
  void commit(std::span<const Mutation> batch) override;
  bool commits_cheaply() const override { return true; }
  std::string signing_key(const std::function<std::string()>& make) override;

  // While on, every commit() throws StoreError and applies nothing (to test failure paths).
  // Atomic: a test thread sets it while realmd's commit thread reads it.
  void fail_next_commits(bool fail) { fail_commits_.store(fail); }
  // From now on a PutGroup of `name` fails as a constraint would: a permanent error of one
  // mutation (to test that it never stalls the rest). Set before the commit thread uses it.
  void refuse_group(std::string name) {
    std::lock_guard lock(refused_group_mutex_);
    refused_group_ = std::move(name);
  }
  // Transactions committed so far; failed ones do not count.
  std::size_t commits() const { return commits_; }
  // Commits refused by fail_next_commits so far (atomic: tests poll it from their thread).
  std::size_t injected_failures() const { return injected_failures_.load(); }

 private:
  std::unique_ptr<HistoryReader> open_reader(const HistoryReaderOptions& options) override;
  struct StoredMessage {
    MessageRecord record;
    bool fetched = false;
  };
  // Each applied mutation pushes its inverse; a failing batch runs them in reverse.
  using UndoLog = std::vector<std::function<void()>>;

  void apply(const PutUser& m, UndoLog& undo);
  void apply(const PutGroup& m, UndoLog& undo);
  void apply(const PutMember& m, UndoLog& undo);
  void apply(const PutMessage& m, UndoLog& undo);
  void apply(const PutGroupMessage& m, UndoLog& undo);
  void apply(const MarkFetched& m, UndoLog& undo);
  void apply(const PutOutbox& m, UndoLog& undo);
  void apply(const DeleteOutbox& m, UndoLog& undo);
  void apply(const PutSeen& m, UndoLog& undo);
  void apply(const DeleteSeen& m, UndoLog& undo);
  void apply(const PutPeer& m, UndoLog& undo);
  void apply(const PutRefused& m, UndoLog& undo);
  void apply(const DeleteRefused& m, UndoLog& undo);
  void apply(const PutSession& m, UndoLog& undo);
  void apply(const DeleteSession& m, UndoLog& undo);
  void apply(const PutHistory& m, UndoLog& undo);
  void apply(const IndexHistory&, UndoLog&) {}  // indexed at PutHistory
  void apply(const PruneHistory& m, UndoLog& undo);
  void apply(const TrimConversation& m, UndoLog& undo);
  void apply(const PutPin& m, UndoLog& undo);
  void erase_history(std::uint64_t id, UndoLog& undo);

  class Reader;
  HistoryPage read_history(const HistoryQuery& query);

  // Vectors keep creation order (as SqliteStore's rowids do); the sets enforce the keys.
  std::vector<UserRecord> users_;
  std::set<std::string> user_names_;
  std::vector<std::string> groups_;
  std::set<std::string> group_names_;
  std::vector<std::pair<std::string, std::string>> members_;  // (group, user), join order
  std::set<std::pair<std::string, std::string>> member_keys_;
  std::map<std::uint64_t, StoredMessage> messages_;  // inbox entries; fetched ones are kept
  std::map<std::uint64_t, HistoryRecord> history_;
  std::map<std::string, std::set<std::uint64_t>> conversations_;  // conversation -> ids
  std::map<std::uint64_t, OutboxRecord> outbox_;
  using EpochKey = std::pair<std::string, std::uint64_t>;  // (origin, epoch)
  std::map<EpochKey, SeenRecord> seen_;
  std::vector<PeerRecord> peers_;  // first-added order
  // (origin, id) -> error
  using RefusedKey = std::tuple<std::string, std::uint64_t, std::uint64_t>;  // origin, epoch, id
  std::map<RefusedKey, std::string> refused_;
  std::vector<SessionRecord> sessions_;  // creation order
  std::vector<PinRecord> pins_;          // pinning order
  std::set<std::string> pinned_realms_;
  std::string signing_key_;  // empty: none yet
  std::uint64_t max_id_ = 0;

  // Held by commit(), load() and the history readers (which run on other threads).
  std::mutex mutex_;
  std::atomic<bool> fail_commits_ = false;
  std::mutex refused_group_mutex_;
  std::string refused_group_;
  std::atomic<std::size_t> injected_failures_ = 0;
  std::size_t commits_ = 0;
};

}  // namespace chat::store
