#include "store/memory_store.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <tuple>
#include <unordered_map>
#include <variant>

namespace chat::store {
namespace {

// SqliteStore's message for the same violation, so tests can expect one string for both.
[[noreturn]] void throw_duplicate(const char* columns) {
  throw StoreError(std::string("UNIQUE constraint failed: ") + columns, true);
}

}  // namespace

void MemoryStore::commit(std::span<const Mutation> batch) {
  std::lock_guard lock(mutex_);
  if (fail_commits_) {
    ++injected_failures_;
    throw StoreError("injected failure (fail_next_commits)");
  }
  UndoLog undo;
  undo.reserve(batch.size());
  const std::uint64_t max_id_before = max_id_;
  try {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        std::visit([&](const auto& m) { apply(m, undo); }, batch[i]);
      } catch (const StoreError& e) {
        if (e.permanent) throw MutationRejected(i, e.what());
        throw;
      }
    }
  } catch (...) {
    for (auto step = undo.rbegin(); step != undo.rend(); ++step) (*step)();
    max_id_ = max_id_before;
    throw;
  }
  ++commits_;
}

void MemoryStore::apply(const PutUser& m, UndoLog& undo) {
  if (!user_names_.insert(m.user.username).second) throw_duplicate("users.username");
  users_.push_back(m.user);
  undo.emplace_back([this] {
    user_names_.erase(users_.back().username);
    users_.pop_back();
  });
}

void MemoryStore::apply(const PutGroup& m, UndoLog& undo) {
  {
    std::lock_guard lock(refused_group_mutex_);
    if (m.name == refused_group_) throw StoreError("CHECK constraint failed: groups.name", true);
  }
  if (!group_names_.insert(m.name).second) throw_duplicate("groups.name");
  groups_.push_back(m.name);
  undo.emplace_back([this] {
    group_names_.erase(groups_.back());
    groups_.pop_back();
  });
}

void MemoryStore::apply(const PutMember& m, UndoLog& undo) {
  if (!member_keys_.emplace(m.group, m.user).second) {
    throw_duplicate("members.group_name, members.username");
  }
  members_.emplace_back(m.group, m.user);
  undo.emplace_back([this] {
    member_keys_.erase(members_.back());
    members_.pop_back();
  });
}

void MemoryStore::apply(const PutMessage& m, UndoLog& undo) {
  if (!messages_.emplace(m.message.id, StoredMessage{m.message}).second) {
    throw_duplicate("messages.id");
  }
  max_id_ = std::max(max_id_, m.message.id);
  undo.emplace_back([this, id = m.message.id] { messages_.erase(id); });
}

void MemoryStore::apply(const PutGroupMessage& m, UndoLog& undo) {
  for (const GroupDelivery& d : m.deliveries) {
    MessageRecord row = m.message;
    row.id = d.id;
    row.recipient = d.recipient;
    apply(PutMessage{std::move(row)}, undo);
  }
}

void MemoryStore::apply(const MarkFetched& m, UndoLog& undo) {
  std::vector<std::uint64_t> marked;
  for (std::uint64_t id : m.ids) {
    auto message = messages_.find(id);
    if (message != messages_.end() && !message->second.fetched) {
      message->second.fetched = true;
      marked.push_back(id);
    }
  }
  undo.emplace_back([this, marked = std::move(marked)] {
    for (std::uint64_t id : marked) messages_.at(id).fetched = false;
  });
}

void MemoryStore::apply(const PutOutbox& m, UndoLog& undo) {
  if (!outbox_.emplace(m.entry.id, m.entry).second) throw_duplicate("outbox.id");
  max_id_ = std::max(max_id_, m.entry.id);
  undo.emplace_back([this, id = m.entry.id] { outbox_.erase(id); });
}

void MemoryStore::apply(const DeleteOutbox& m, UndoLog& undo) {
  auto entry = outbox_.find(m.id);
  if (entry == outbox_.end() || entry->second.peer != m.peer) return;
  undo.emplace_back([this, removed = entry->second] { outbox_.emplace(removed.id, removed); });
  outbox_.erase(entry);
}

void MemoryStore::apply(const PutSeen& m, UndoLog& undo) {
  EpochKey key{m.seen.origin, m.seen.epoch};
  auto [entry, inserted] = seen_.try_emplace(key, m.seen);
  if (inserted) {
    undo.emplace_back([this, key] { seen_.erase(key); });
    return;
  }
  undo.emplace_back([this, key, before = entry->second] { seen_[key] = before; });
  entry->second.id = std::max(entry->second.id, m.seen.id);
  entry->second.touched = m.seen.touched;
}

void MemoryStore::apply(const DeleteSeen& m, UndoLog& undo) {
  EpochKey key{m.origin, m.epoch};
  if (auto entry = seen_.find(key); entry != seen_.end()) {
    undo.emplace_back([this, key, before = entry->second] { seen_[key] = before; });
    seen_.erase(entry);
  }
  apply(DeleteRefused{m.origin, m.epoch, std::numeric_limits<std::uint64_t>::max()}, undo);
}

void MemoryStore::apply(const PutPeer& m, UndoLog& undo) {
  auto peer = std::find_if(peers_.begin(), peers_.end(),
                           [&](const PeerRecord& p) { return p.name == m.peer.name; });
  if (peer == peers_.end()) {
    peers_.push_back(m.peer);
    undo.emplace_back([this] { peers_.pop_back(); });
    return;
  }
  undo.emplace_back([this, index = peer - peers_.begin(), before = *peer] {
    peers_[static_cast<std::size_t>(index)] = before;
  });
  *peer = m.peer;
}

void MemoryStore::apply(const PutRefused& m, UndoLog& undo) {
  // The undo steps go by key: a later DeleteRefused of the batch may erase this node.
  RefusedKey key{m.refused.origin, m.refused.epoch, m.refused.id};
  auto [entry, inserted] = refused_.try_emplace(key, m.refused.error);
  if (inserted) {
    undo.emplace_back([this, key] { refused_.erase(key); });
    return;
  }
  undo.emplace_back([this, key, before = entry->second] { refused_[key] = before; });
  entry->second = m.refused.error;
}

void MemoryStore::apply(const DeleteRefused& m, UndoLog& undo) {
  auto first = refused_.lower_bound({m.origin, m.epoch, 0});
  auto last = refused_.upper_bound({m.origin, m.epoch, m.up_to});
  if (first == last) return;
  undo.emplace_back([this, removed = decltype(refused_)(first, last)] {
    refused_.insert(removed.begin(), removed.end());
  });
  refused_.erase(first, last);
}

void MemoryStore::apply(const PutSession& m, UndoLog& undo) {
  // As SqliteStore's INSERT OR REPLACE: a session of the same hash goes, the new one is last.
  apply(DeleteSession{m.session.token_hash}, undo);
  sessions_.push_back(m.session);
  undo.emplace_back([this] { sessions_.pop_back(); });
}

void MemoryStore::apply(const DeleteSession& m, UndoLog& undo) {
  auto session = std::find_if(sessions_.begin(), sessions_.end(),
                              [&](const SessionRecord& s) { return s.token_hash == m.token_hash; });
  if (session == sessions_.end()) return;
  undo.emplace_back([this, index = session - sessions_.begin(), removed = *session] {
    sessions_.insert(sessions_.begin() + index, removed);
  });
  sessions_.erase(session);
}

void MemoryStore::apply(const PutHistory& m, UndoLog& undo) {
  if (!history_.emplace(m.message.id, m.message).second) throw_duplicate("history.id");
  conversations_[m.message.conversation].insert(m.message.id);
  max_id_ = std::max(max_id_, m.message.id);
  undo.emplace_back([this, id = m.message.id, conversation = m.message.conversation] {
    history_.erase(id);
    auto ids = conversations_.find(conversation);
    ids->second.erase(id);
    if (ids->second.empty()) conversations_.erase(ids);
  });
}

void MemoryStore::erase_history(std::uint64_t id, UndoLog& undo) {
  auto message = history_.find(id);
  if (message == history_.end()) return;
  undo.emplace_back([this, removed = message->second] {
    conversations_[removed.conversation].insert(removed.id);
    history_.emplace(removed.id, removed);
  });
  auto ids = conversations_.find(message->second.conversation);
  ids->second.erase(id);
  if (ids->second.empty()) conversations_.erase(ids);
  history_.erase(message);
}

void MemoryStore::apply(const PruneHistory& m, UndoLog& undo) {
  std::vector<std::uint64_t> expired;
  std::size_t scanned = 0;
  for (auto it = history_.begin(); it != history_.end() && scanned < m.scan; ++it, ++scanned) {
    if (it->second.time < m.older_than) expired.push_back(it->first);
  }
  for (std::uint64_t id : expired) erase_history(id, undo);
}

void MemoryStore::apply(const TrimConversation& m, UndoLog& undo) {
  auto ids = conversations_.find(m.conversation);
  if (ids == conversations_.end() || ids->second.size() <= m.keep) return;
  std::vector<std::uint64_t> oldest(
      ids->second.begin(),
      std::next(ids->second.begin(), static_cast<std::ptrdiff_t>(ids->second.size() - m.keep)));
  for (std::uint64_t id : oldest) erase_history(id, undo);
}

void MemoryStore::apply(const PutPin& m, UndoLog& undo) {
  if (!pinned_realms_.insert(m.pin.realm).second) return;  // the first pin wins
  pins_.push_back(m.pin);
  undo.emplace_back([this] {
    pinned_realms_.erase(pins_.back().realm);
    pins_.pop_back();
  });
}

std::string MemoryStore::signing_key(const std::function<std::string()>& make) {
  {
    std::lock_guard lock(mutex_);
    if (!signing_key_.empty()) return signing_key_;
  }
  // Not under the lock: as another process could, make() may store a key meanwhile.
  std::string made = make();
  std::lock_guard lock(mutex_);
  if (signing_key_.empty()) signing_key_ = std::move(made);
  return signing_key_;
}

HistoryPage MemoryStore::read_history(const HistoryQuery& query) {
  std::lock_guard lock(mutex_);
  HistoryPage page;
  auto ids = conversations_.find(query.conversation);
  if (ids == conversations_.end()) return page;
  auto end = query.before == 0 ? ids->second.end() : ids->second.lower_bound(query.before);
  auto first = end;
  std::size_t taken = 0;
  while (first != ids->second.begin() && taken < query.limit) {
    --first;
    ++taken;
  }
  page.more = first != ids->second.begin();
  for (auto it = first; it != end; ++it) page.messages.push_back(history_.at(*it));
  return page;
}

// A MemoryStore reader is the store itself behind its mutex.
class MemoryStore::Reader final : public HistoryReader {
 public:
  explicit Reader(MemoryStore& store) : store_(store) {}
  HistoryPage read_history(const HistoryQuery& query) override {
    return store_.read_history(query);
  }

 private:
  MemoryStore& store_;
};

std::unique_ptr<HistoryReader> MemoryStore::open_reader(const HistoryReaderOptions&) {
  return std::make_unique<Reader>(*this);
}

Snapshot MemoryStore::load_streaming(const UnreadSink& unread) {
  std::lock_guard lock(mutex_);
  Snapshot snapshot;
  snapshot.history_indexed_as_stored = true;  // conversations_, at PutHistory
  snapshot.users = users_;

  std::unordered_map<std::string, std::size_t> group_index;
  for (const std::string& name : groups_) {
    group_index.emplace(name, snapshot.groups.size());
    snapshot.groups.push_back({name, {}});
  }
  // As in SqliteStore, a member of a group that does not exist is not loaded.
  for (const auto& [group, user] : members_) {
    auto index = group_index.find(group);
    if (index != group_index.end()) snapshot.groups[index->second].members.push_back(user);
  }

  for (const auto& [id, message] : messages_) {
    if (!message.fetched) unread(message.record);
  }
  for (const auto& [id, entry] : outbox_) snapshot.outbox.push_back(entry);
  for (const auto& [key, seen] : seen_) snapshot.seen.push_back(seen);
  std::stable_sort(snapshot.seen.begin(), snapshot.seen.end(),
                   [](const SeenRecord& a, const SeenRecord& b) {
                     return std::tie(a.origin, a.touched) < std::tie(b.origin, b.touched);
                   });
  snapshot.peers = peers_;
  for (const auto& [key, error] : refused_) {
    snapshot.refused.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), error});
  }
  snapshot.sessions = sessions_;
  snapshot.pins = pins_;
  for (const auto& [conversation, ids] : conversations_) {
    const HistoryRecord& last = history_.at(*ids.rbegin());
    snapshot.conversations.push_back({conversation, last.id, last.time, ids.size()});
  }
  snapshot.max_id = max_id_;
  return snapshot;
}

}  // namespace chat::store
