#include "core/conversations.hpp"

#include <algorithm>

namespace chat::core {

bool Conversations::note_conversation_message(const std::string& key, std::uint64_t id,
                                              std::string_view time) {
  auto entry = conversations_.find(key);
  const bool first = entry == conversations_.end();
  if (first) entry = conversations_.try_emplace(key).first;
  Conversation& conversation = entry->second;
  if (id > conversation.last_id) {
    conversation.last_id = id;
    conversation.last_time = time;
  }
  ++conversation.count;
  if (conversation_limit_ != 0 && conversation.count > conversation_limit_) over_limit_.insert(key);
  if (id > history_indexed_up_to_) {
    unindexed_.emplace_back(id, &entry->first);
    unindexed_by_conversation_[key].push_back(id);
  }
  return first;
}

std::vector<std::uint64_t> Conversations::unindexed_ids(std::string_view key, std::uint64_t before,
                                                        std::size_t count) const {
  std::vector<std::uint64_t> ids;
  auto it = unindexed_by_conversation_.find(key);
  if (it == unindexed_by_conversation_.end()) return ids;
  const std::deque<std::uint64_t>& all = it->second;
  auto end = before == 0 ? all.end() : std::lower_bound(all.begin(), all.end(), before);
  auto first = end - static_cast<std::ptrdiff_t>(
                         std::min(count, static_cast<std::size_t>(end - all.begin())));
  ids.assign(first, end);
  return ids;
}

std::optional<std::uint64_t> Conversations::take_unindexed(std::size_t max) {
  std::optional<std::uint64_t> last;
  for (std::size_t i = 0; i < max && !unindexed_.empty(); ++i) {
    auto [id, key] = unindexed_.front();
    auto ids = unindexed_by_conversation_.find(*key);
    ids->second.pop_front();  // ids are queued in order: this one is its conversation's oldest
    if (ids->second.empty()) unindexed_by_conversation_.erase(ids);
    last = id;
    unindexed_.pop_front();
  }
  if (last) history_indexed_up_to_ = *last;
  return last;
}

void Conversations::load_conversation(const store::ConversationSummary& summary) {
  conversations_[summary.conversation] = {summary.last_id, summary.last_time, summary.count};
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
