#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/state_maps.hpp"
#include "store/records.hpp"

// The conversations of history (core/history.hpp): the list, what retention by count must
// trim, and the ids the store has not indexed yet. The messages themselves are in the store.
namespace chat::core {

// A conversation's newest message and how many it holds (an upper bound once age pruning has
// run: only the count retention uses it).
struct Conversation {
  std::uint64_t last_id = 0;
  std::string last_time;
  std::uint64_t count = 0;
};

class Conversations {
 public:
  // Counts one more message of conversation `key`; true when it is the conversation's first.
  bool note_conversation_message(const std::string& key, std::uint64_t id, std::string_view time);
  // Restores a conversation from the store at start.
  void load_conversation(const store::ConversationSummary& summary);
  // `user` takes part in user/realm conversation `key` (group ones go by membership).
  void add_participant(std::string_view user, const std::string& key);
  const Conversation* find_conversation(std::string_view key) const {
    const Entry* entry = find_value(conversations_, key);
    return entry == nullptr ? nullptr : &entry->info;
  }
  Conversation* find_conversation(std::string_view key) {
    Entry* entry = find_value(conversations_, key);
    return entry == nullptr ? nullptr : &entry->info;
  }
  const StringSet* private_conversations(std::string_view user) const {
    return find_value(private_conversations_, user);
  }
  // Retention by count: conversations holding more than `limit` messages are listed in
  // over_limit() (0: no limit).
  void set_conversation_limit(std::uint64_t limit);
  StringSet& over_limit() { return over_limit_; }
  // The store finds history messages by conversation once indexed (store::IndexHistory);
  // until then their ids are kept here, per conversation. A store that finds them as they are
  // stored (store::Snapshot::history_indexed_as_stored) needs no list: track_unindexed(false)
  // keeps none, and everything counts as indexed.
  void track_unindexed(bool on) { tracks_unindexed_ = on; }
  std::uint64_t history_indexed_up_to() const {
    return tracks_unindexed_ ? history_indexed_up_to_ : UINT64_MAX;
  }
  void set_history_indexed_up_to(std::uint64_t id) { history_indexed_up_to_ = id; }
  // The newest `count` not yet indexed ids of `key` below `before` (0: no bound), ascending.
  std::vector<std::uint64_t> unindexed_ids(std::string_view key, std::uint64_t before,
                                           std::size_t count) const;
  // Forgets up to `max` of the oldest unindexed ids (they are being indexed); returns the
  // highest one forgotten, or nothing when none was waiting.
  std::optional<std::uint64_t> take_unindexed(std::size_t max);
  std::size_t unindexed_count() const { return unindexed_.size(); }

 private:
  // A conversation and its ids not indexed yet: unindexed[taken..] ascending (those before
  // `taken` are indexed, and dropped once all are). One lookup per message finds both.
  struct Entry {
    Conversation info;
    std::vector<std::uint64_t> unindexed;
    std::size_t taken = 0;
  };
  StringMap<Entry> conversations_;
  StringMap<StringSet> private_conversations_;  // user -> keys of user/realm conversations
  std::uint64_t conversation_limit_ = 0;
  StringSet over_limit_;
  bool tracks_unindexed_ = true;
  std::uint64_t history_indexed_up_to_ = 0;
  // (id, its conversation), by id; entries are never erased, so the pointer stays valid.
  std::deque<std::pair<std::uint64_t, Entry*>> unindexed_;
};

}  // namespace chat::core
