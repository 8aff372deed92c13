// history, conversations (docs/contract.md §3.1): the messages are read from the store by realmd
// (Outcome::history), off the event loop; the list of conversations is in memory.
#include "core/history.hpp"

#include <algorithm>
#include <optional>

#include "core/commands/common.hpp"
#include "core/commands/handlers.hpp"
#include "core/realm_state.hpp"
#include "protocol/messages.hpp"
#include "protocol/names.hpp"

namespace chat::core::commands {

namespace text = protocol::text;

namespace {

constexpr std::size_t default_limit = 50;
constexpr std::size_t max_limit = 500;
// Ids are SQLite INTEGERs (and JSON-safe up to 2^53 anyway).
constexpr std::uint64_t max_before = (std::uint64_t{1} << 63) - 1;

// A decimal number in 1..max, digits only.
std::optional<std::uint64_t> parse_number(std::string_view digits, std::uint64_t max) {
  if (digits.empty() || digits.size() > 19) return std::nullopt;  // 19 digits fit a uint64
  std::uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value < 1 || value > max) return std::nullopt;
  return value;
}

struct HistoryParams {
  std::string_view kind;   // "user", "group" or "realm"
  std::string_view realm;  // kind "realm" only
  std::string_view name;
  std::size_t limit = default_limit;
  std::uint64_t before = 0;  // 0: the newest
};

std::optional<HistoryParams> parse_history(const std::vector<std::string_view>& params) {
  if (params.empty()) return std::nullopt;
  const std::string_view kind = params[0];
  const std::size_t names = kind == "realm" ? 2 : (kind == "user" || kind == "group") ? 1 : 0;
  if (names == 0 || params.size() < 1 + names || params.size() > 3 + names) return std::nullopt;
  for (std::size_t i = 1; i <= names; ++i) {
    if (!protocol::is_valid_name(params[i])) return std::nullopt;
  }
  HistoryParams parsed{kind, names == 2 ? params[1] : std::string_view(), params[names]};
  if (params.size() > 1 + names) {
    auto limit = parse_number(params[1 + names], max_limit);
    if (!limit) return std::nullopt;
    parsed.limit = static_cast<std::size_t>(*limit);
  }
  if (params.size() > 2 + names) {
    auto before = parse_number(params[2 + names], max_before);
    if (!before) return std::nullopt;
    parsed.before = *before;
  }
  return parsed;
}

// The conversation `history` asks for, after its own checks; nothing when it answered an
// error.
std::optional<std::string> requested_conversation(Request& req, const HistoryParams& p) {
  const bool own_realm = p.kind == "realm" && p.realm == req.settings.name;
  if (p.kind == "user" || own_realm) {  // the realm's own name works like the local command
    if (req.state.find_user(p.name) == nullptr) {
      reply_error(req, text::user_not_found);
      return std::nullopt;
    }
    return user_conversation(req.user, p.name);
  }
  if (p.kind == "group") {
    const Group* group = req.state.find_group(p.name);
    if (group == nullptr) {
      reply_error(req, text::group_not_found);
      return std::nullopt;
    }
    if (!group->member_set.contains(req.user)) {
      reply_error(req, text::not_member);
      return std::nullopt;
    }
    return group_conversation(p.name);
  }
  // A realm this one knows, or one the caller has history with (a peer dropped since).
  std::string key = realm_conversation(p.realm, p.name, req.user);
  if (req.state.find_peer(p.realm) == nullptr && req.state.find_conversation(key) == nullptr) {
    reply_error(req, text::realm_not_found);
    return std::nullopt;
  }
  return key;
}

}  // namespace

bool valid_history_params(const std::vector<std::string_view>& params) {
  return parse_history(params).has_value();
}

void history(Request& req) {
  const HistoryParams params = *parse_history(req.params);  // the table validated them
  std::optional<std::string> conversation = requested_conversation(req, params);
  if (!conversation) return;
  // A conversation without a message (none queued either: the list is updated when a message
  // is queued) needs no store read.
  if (req.state.find_conversation(*conversation) == nullptr) {
    req.out.reply = protocol::reply::ok_history({}, false);
    return;
  }
  // The page is read later, when more may have been stored: ids handed out after this request
  // are left out, so the reply shows the conversation as it was when the request came.
  const std::uint64_t horizon = req.state.last_id() + 1;
  const std::uint64_t before = params.before == 0 ? horizon : std::min(params.before, horizon);
  store::HistoryQuery query;
  query.recent = req.state.unindexed_ids(*conversation, before, params.limit + 1);
  query.indexed_up_to = req.state.history_indexed_up_to();
  query.conversation = std::move(*conversation);
  query.before = before;
  query.limit = params.limit;
  req.out.history = std::move(query);
}

void conversations(Request& req) {
  struct Listed {
    ConversationView view;
    std::string key;
    const Conversation* info;
  };
  std::vector<Listed> listed;
  if (const StringSet* keys = req.state.private_conversations(req.user)) {
    for (const std::string& key : *keys) {
      auto view = private_view(key, req.user, req.settings.name);
      const Conversation* info = req.state.find_conversation(key);
      if (view && info != nullptr) listed.push_back({std::move(*view), key, info});
    }
  }
  // Groups by membership now: a member who left (or never was) sees nothing of the group.
  for (std::string_view group : req.state.groups_of(req.user)) {
    std::string key = group_conversation(group);
    if (const Conversation* info = req.state.find_conversation(key)) {
      listed.push_back({{"group", std::string(group), req.settings.name}, std::move(key), info});
    }
  }
  std::sort(listed.begin(), listed.end(),
            [](const Listed& a, const Listed& b) { return a.info->last_id > b.info->last_id; });

  StringMap<std::uint64_t> unread;
  req.state.for_each_unread(req.user, [&](const UnreadMessage& message) {
    ++unread[conversation_of(message, req.settings.name)];
  });
  std::vector<protocol::reply::ConversationEntry> entries;
  entries.reserve(listed.size());
  for (const Listed& c : listed) {
    auto count = unread.find(c.key);
    entries.push_back({c.view.kind, c.view.name, c.view.realm, c.info->last_id, c.info->last_time,
                       count == unread.end() ? 0 : count->second});
  }
  req.out.reply = protocol::reply::ok_conversations(entries);
}

}  // namespace chat::core::commands
