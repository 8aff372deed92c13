#include "core/realm.hpp"

#include "core/command_table.hpp"
#include "core/commands/handlers.hpp"
#include "core/history.hpp"
#include "core/realm_state.hpp"
#include "core/session_key.hpp"
#include "protocol/command_parser.hpp"
#include "protocol/messages.hpp"
#include "protocol/reply.hpp"

namespace chat::core {

namespace text = protocol::text;

namespace {

Outcome error(std::string_view message) {
  Outcome out;
  out.reply = protocol::reply::error(message);
  return out;
}

// A request's parts besides its fixed parameters.
struct Arguments {
  std::string_view token;  // token mode: the session token, else empty
  std::string_view text;   // the message text (commands with takes_text)
};

// Splits the parameters of `parsed` as `spec` says (a leading token, the fixed parameters into
// `params`, the message text) and checks them (docs/contract.md §1.2). False: bad parameter.
bool take_arguments(const CommandSpec& spec, const protocol::ParsedLine& parsed,
                    std::size_t max_message_bytes, std::vector<std::string_view>& params,
                    Arguments& args) {
  // Token mode: a first parameter of token shape is always the session token.
  std::size_t first = 0;
  if (!parsed.params.empty() && protocol::looks_like_token(parsed.params[0].text)) {
    args.token = parsed.params[0].text;
    first = 1;
  }
  const std::size_t given = parsed.params.size() - first;
  std::size_t fixed = given;
  if (spec.takes_text) {
    // The fixed count is the only one the spec accepts; the text is the rest of the line.
    fixed = 0;
    while (!accepts_arity(spec, fixed)) ++fixed;
    if (given <= fixed) return false;
    args.text = parsed.rest_from(first + fixed);
    if (args.text.size() > max_message_bytes) return false;
    // Blanks alone (tabs too: the parser splits on spaces only) are no message.
    if (args.text.find_first_not_of(" \t\v\f") == std::string_view::npos) return false;
  } else if (!accepts_arity(spec, given)) {
    return false;
  }
  params.clear();
  for (std::size_t i = 0; i < fixed; ++i) {
    const std::string_view value = parsed.params[first + i].text;
    if (!is_valid_param(spec.kinds[i], value)) return false;
    params.push_back(value);
  }
  return spec.validate == nullptr || spec.validate(params);
}

// The user of the request's session: the token's (token mode), else the one bound to the
// connection. Nothing when there is no live session.
std::optional<std::string_view> session_user(RealmState& state, const Environment& env,
                                             Connection& conn, std::string_view token) {
  if (!token.empty()) {
    Session* session = state.find_session(session_key(token));
    if (session == nullptr) return std::nullopt;
    session->last_used = env.now();
    return session->user;
  }
  if (conn.user.empty() || state.find_session(conn.session_key) == nullptr) {
    // Its session may have ended elsewhere (logout by token, the per-user cap).
    commands::unbind_connection(state, conn);
    return std::nullopt;
  }
  return conn.user;
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

void Realm::load_unread(const store::MessageRecord& message) {
  state_->add_unread(message);
}

void Realm::set_public_key(const std::string& public_key) {
  settings_.public_key = public_key;
  state_->routing().keys[settings_.name] = public_key;
}

void Realm::load(const store::Snapshot& snapshot) {
  for (const auto& user : snapshot.users) state_->add_user(user);
  for (const auto& group : snapshot.groups) {
    state_->add_group(group.name);
    for (const auto& member : group.members) state_->add_member(group.name, member);
  }
  for (const auto& message : snapshot.unread) load_unread(message);
  for (const auto& pin : snapshot.pins)
    state_->routing().keys.try_emplace(pin.realm, pin.public_key);
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
      Routing& routing = state_->routing();
      if (envelope->dest == settings_.name) {
        // One for this realm, waiting for its origin's key (Realm::await_origin_key).
        routing.awaiting_key.insert(entry.id);
        routing.entries.emplace(entry.id, RoutedEntry{std::move(*envelope), {}});
        continue;
      }
      // A routed envelope in this realm's custody: sent on once a path is up.
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
  state_->track_unindexed(!snapshot.history_indexed_as_stored);
}

// The order of checks is docs/contract.md §1.3's: unknown command, parameters, session, then
// the command's own errors (in its handler).
Outcome Realm::handle(Connection& conn, std::string_view line) {
  // A request is one line of UTF-8: a WebSocket message with a line break inside is as bad as a
  // NUL (docs/protocol.md §1).
  if (!protocol::is_valid_utf8(line) || line.find('\n') != std::string_view::npos) {
    return error(text::bad_parameter);
  }
  protocol::ParsedLine& parsed = parsed_;
  if (!protocol::parse_line(line, parsed)) return {};  // blank line: no reply

  const CommandSpec* spec = find_command(parsed.verb);
  if (spec == nullptr) return error(text::unknown_command);

  Arguments args;
  if (!take_arguments(*spec, parsed, settings_.limits.max_message_bytes, params_, args)) {
    return error(text::bad_parameter);
  }
  std::string_view user;
  if (spec->needs_session) {
    std::optional<std::string_view> bound = session_user(*state_, env_, conn, args.token);
    if (!bound) return error(text::no_session);
    user = *bound;
  }

  Outcome out;
  Request req{*state_, settings_, env_, conn, args.token, user, std::move(params_), args.text, out};
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
