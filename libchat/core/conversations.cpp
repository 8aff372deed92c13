#include "core/conversations.hpp"

#include <algorithm>

namespace chat::core {

bool Conversations::note_conversation_message(const std::string& key, std::uint64_t id,
                                              std::string_view time) {
  auto found = conversations_.find(key);
  const bool first = found == conversations_.end();
  if (first) found = conversations_.try_emplace(key).first;
  Entry& entry = found->second;
  Conversation& conversation = entry.info;
  if (id > conversation.last_id) {
    conversation.last_id = id;
    conversation.last_time = time;
  }
  ++conversation.count;
  if (conversation_limit_ != 0 && conversation.count > conversation_limit_) over_limit_.insert(key);
  if (tracks_unindexed_ && id > history_indexed_up_to_) {
    unindexed_.emplace_back(id, &entry);
    entry.unindexed.push_back(id);
  }
  return first;
}

std::vector<std::uint64_t> Conversations::unindexed_ids(std::string_view key, std::uint64_t before,
                                                        std::size_t count) const {
  std::vector<std::uint64_t> ids;
  const Entry* entry = find_value(conversations_, key);
  if (entry == nullptr) return ids;
  const auto begin = entry->unindexed.begin() + static_cast<std::ptrdiff_t>(entry->taken);
  const auto end = before == 0 ? entry->unindexed.end()
                               : std::lower_bound(begin, entry->unindexed.end(), before);
  const auto first =
      end - static_cast<std::ptrdiff_t>(std::min(count, static_cast<std::size_t>(end - begin)));
  ids.assign(first, end);
  return ids;
}

std::optional<std::uint64_t> Conversations::take_unindexed(std::size_t max) {
  // A list emptied keeps a small capacity for the conversation's next messages; a large one
  // (a burst) is given back.
  constexpr std::size_t kept_capacity = 16;
  std::optional<std::uint64_t> last;
  for (std::size_t i = 0; i < max && !unindexed_.empty(); ++i) {
    auto [id, entry] = unindexed_.front();
    // Ids are queued in order: this one is its conversation's oldest not taken.
    if (++entry->taken == entry->unindexed.size()) {
      entry->taken = 0;
      if (entry->unindexed.capacity() > kept_capacity) {
        std::vector<std::uint64_t>().swap(entry->unindexed);
      } else {
        entry->unindexed.clear();
      }
    }
    last = id;
    unindexed_.pop_front();
  }
  if (last) history_indexed_up_to_ = *last;
  return last;
}

void Conversations::load_conversation(const store::ConversationSummary& summary) {
  conversations_[summary.conversation].info = {summary.last_id, summary.last_time, summary.count};
  if (conversation_limit_ != 0 && summary.count > conversation_limit_) {
    over_limit_.insert(summary.conversation);
  }
}

void Conversations::add_participant(std::string_view user, const std::string& key) {
  auto it = private_conversations_.find(user);
  if (it == private_conversations_.end()) {
    it = private_conversations_.try_emplace(std::string(user)).first;
  }
  if (!it->second.contains(key)) it->second.insert(key);
}

void Conversations::set_conversation_limit(std::uint64_t limit) {
  conversation_limit_ = limit;
}

}  // namespace chat::core
