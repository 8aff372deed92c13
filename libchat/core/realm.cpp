#include "core/realm.hpp"

#include "core/command_table.hpp"
#include "core/commands/handlers.hpp"
#include "core/history.hpp"
#include "core/names.hpp"
#include "core/realm_state.hpp"
#include "core/session_key.hpp"
#include "protocol/command_parser.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"

namespace chat::core {

namespace text = protocol::text;

namespace {

bool is_valid_host(std::string_view host) {
  // A DNS name or an IPv4/IPv6 literal: resolved later by realmd; here only its shape.
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value >= 1 && value <= 65535;
}

bool is_valid_param(ParamKind kind, std::string_view value) {
  switch (kind) {
    case ParamKind::name:
      return is_valid_name(value);
    case ParamKind::field:
      return is_valid_field(value);
    case ParamKind::host:
      return is_valid_host(value);
    case ParamKind::port:
      return is_valid_port(value);
    case ParamKind::word:
      return true;
  }
  return false;
}

Outcome error(std::string_view message) {
  Outcome out;
  out.reply = protocol::reply::error(message);
  return out;
}

}  // namespace

Realm::Realm(RealmSettings settings, Environment env)
    : settings_(std::move(settings)), env_(std::move(env)), state_(std::make_unique<RealmState>()) {
  state_->set_conversation_limit(settings_.retention.max_per_conversation);
  for (const ConfiguredPeer& configured : settings_.peers) {
    Peer& peer = state_->add_peer(configured.name);
    peer.host = configured.host;
    peer.port = configured.port;
    peer.alternates = configured.alternates;
    peer.configured = true;
    peer.active = configured.autoconnect;
    peer.link = configured.autoconnect ? LinkState::connecting : LinkState::idle;
  }
  state_->routing().table =
      RouteTable(settings_.name, settings_.relay, settings_.reachable_via_relays);
  state_->routing().keys = settings_.pinned_keys;
  if (!settings_.public_key.empty()) state_->routing().keys[settings_.name] = settings_.public_key;
}

Realm::~Realm() = default;

void Realm::load(const store::Snapshot& snapshot) {
  for (const auto& user : snapshot.users) state_->add_user(user);
  for (const auto& group : snapshot.groups) {
    state_->add_group(group.name);
    for (const auto& member : group.members) state_->add_member(group.name, member);
  }
  for (const auto& message : snapshot.unread) state_->add_unread(message);
  for (const auto& conversation : snapshot.conversations) {
    restore_conversation(*state_, conversation);
  }
  // Peers added at run time (addrealm) or learnt from a handshake (port 0: they dial us).
  for (const auto& record : snapshot.peers) {
    Peer& peer = state_->add_peer(record.name);
    if (!record.host.empty() || record.port != 0 || !peer.configured) {
      peer.host = record.host;
      peer.port = record.port;
    }
    peer.active = true;
    peer.link = peer.dials() ? LinkState::connecting : LinkState::down;
  }
  for (const auto& entry : snapshot.outbox) {
    if (std::optional<frames::Fwd> envelope = from_outbox_record(entry)) {
      // A routed envelope in this realm's custody: sent on once a path is up.
      Routing& routing = state_->routing();
      ++routing.queued_for[envelope->dest];
      routing.known.insert(envelope->dest);
      routing.entries.emplace(entry.id, RoutedEntry{std::move(*envelope), {}});
      routing.unsent.insert(entry.id);
      continue;
    }
    // An outbox entry for a realm no longer configured stays (inactive) until it is back.
    state_->add_peer(entry.peer).outbox.emplace(entry.id, entry);
  }
  for (const store::SeenRecord& mark : snapshot.seen) {
    EpochDedup& dedup = state_->dedup(mark.origin, mark.epoch);
    dedup.seen = mark.id;
    dedup.touched = mark.touched;
  }
  for (const auto& refusal : snapshot.refused) {
    state_->dedup(refusal.origin, refusal.epoch).refused.emplace(refusal.id, refusal.error);
  }
  // A session of a user that is gone (never, today) is not restored; the cap cannot evict,
  // since the store holds at most max_sessions_per_user per user.
  for (const auto& session : snapshot.sessions) {
    if (state_->find_user(session.user) != nullptr) {
      state_->add_session(session.token_hash, session.user, env_.now());
    }
  }
  state_->set_last_id(snapshot.max_id);
  state_->set_history_indexed_up_to(snapshot.max_id);  // load() indexed everything
}

// The order of checks is docs/contract.md §1.3's: unknown command, parameters, session, then
// the command's own errors (in its handler).
Outcome Realm::handle(Connection& conn, std::string_view line) {
  protocol::ParsedLine& parsed = parsed_;
  if (!protocol::parse_line(line, parsed)) return {};  // blank line: no reply

  const CommandSpec* spec = find_command(parsed.verb);
  if (spec == nullptr) return error(text::unknown_command);

  // Token mode: a first parameter of token shape is always the session token.
  std::size_t first = 0;
  std::string_view token;
  if (!parsed.params.empty() && protocol::looks_like_token(parsed.params[0].text)) {
    token = parsed.params[0].text;
    first = 1;
  }
  std::size_t given = parsed.params.size() - first;
  std::size_t fixed = given;
  std::string_view message_text;
  if (spec->takes_text) {
    // The fixed count is the only one the spec accepts; the text is the rest of the line.
    fixed = 0;
    while (!accepts_arity(*spec, fixed)) ++fixed;
    if (given <= fixed) return error(text::bad_parameter);
    message_text = parsed.rest_from(first + fixed);
    if (message_text.size() > settings_.limits.max_message_bytes) return error(text::bad_parameter);
    // Blanks alone (tabs too: the parser splits on spaces only) are no message.
    if (message_text.find_first_not_of(" \t\v\f") == std::string_view::npos) {
      return error(text::bad_parameter);
    }
  } else if (!accepts_arity(*spec, given)) {
    return error(text::bad_parameter);
  }

  params_.clear();
  for (std::size_t i = 0; i < fixed; ++i) {
    std::string_view value = parsed.params[first + i].text;
    if (!is_valid_param(spec->kinds[i], value)) return error(text::bad_parameter);
    params_.push_back(value);
  }
  if (spec->validate != nullptr && !spec->validate(params_)) return error(text::bad_parameter);

  std::string_view user;
  if (spec->needs_session) {
    if (!token.empty()) {
      Session* session = state_->find_session(session_key(token));
      if (session == nullptr) return error(text::no_session);
      session->last_used = env_.now();
      user = session->user;
    } else if (conn.user.empty() || state_->find_session(conn.session_key) == nullptr) {
      // Its session may have ended elsewhere (logout by token, the per-user cap).
      commands::unbind_connection(*state_, conn);
      return error(text::no_session);
    } else {
      user = conn.user;
    }
  }

  Outcome out;
  Request req{*state_, settings_, env_, conn, token, user, std::move(params_), message_text, out};
  spec->handler(req);
  params_ = std::move(req.params);  // its capacity serves the next request
  return out;
}

Outcome Realm::resume(Connection& conn, const PasswordResult& result) {
  Outcome out;
  Request req{*state_, settings_, env_, conn, {}, {}, {}, {}, out};
  commands::finish_password(req, result);
  return out;
}

std::vector<store::Mutation> Realm::reply_written(const std::vector<std::uint64_t>& ids) {
  std::vector<store::Mutation> mutations;
  if (ids.empty()) return mutations;
  state_->remove_fetched(ids);
  mutations.emplace_back(store::MarkFetched{ids});
  return mutations;
}

void Realm::reply_lost(const std::vector<std::uint64_t>& ids) {
  state_->release(ids);
}

void Realm::disconnected(Connection& conn) {
  // The session itself stays valid: course clients in token mode may reconnect with it.
  commands::unbind_connection(*state_, conn);
  conn.pending.reset();
}

Outcome Realm::index_pass(std::size_t max) {
  Outcome out;
  if (auto up_to = state_->take_unindexed(max)) {
    out.mutations.emplace_back(store::IndexHistory{*up_to});
  }
  return out;
}

std::size_t Realm::unindexed_count() const {
  return state_->unindexed_count();
}

Outcome Realm::retention_pass(std::string_view older_than) {
  Outcome out;
  const HistoryRetention& retention = settings_.retention;
  if (retention.max_age_days != 0 && !older_than.empty()) {
    out.mutations.emplace_back(store::PruneHistory{std::string(older_than), retention.batch});
  }
  if (retention.max_per_conversation == 0) return out;
  // By count: the conversations over the limit, until this pass has deleted `batch` messages
  // (a large excess is trimmed over several passes).
  std::size_t budget = retention.batch;
  StringSet& over = state_->over_limit();
  for (auto it = over.begin(); it != over.end() && budget > 0;) {
    Conversation* conversation = state_->find_conversation(*it);
    const std::uint64_t excess =
        conversation == nullptr || conversation->count <= retention.max_per_conversation
            ? 0
            : conversation->count - retention.max_per_conversation;
    const std::uint64_t deleted = std::min<std::uint64_t>(excess, budget);
    if (deleted > 0) {
      conversation->count -= deleted;
      out.mutations.emplace_back(store::TrimConversation{*it, conversation->count});
      budget -= deleted;
    }
    if (deleted == excess) {
      it = over.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::optional<store::Mutation> Realm::seed_user(const store::UserRecord& user) {
  if (state_->find_user(user.username) != nullptr) return std::nullopt;
  state_->add_user(user);
  return store::Mutation{store::PutUser{user}};
}

bool Realm::has_user(std::string_view username) const {
  return state_->find_user(username) != nullptr;
}

}  // namespace chat::core
