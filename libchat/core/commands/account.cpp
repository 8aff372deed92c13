// auth, register, logout, info; and the end of auth/register after password hashing.
#include <algorithm>

#include "core/commands/common.hpp"
#include "core/commands/handlers.hpp"
#include "core/realm_state.hpp"
#include "core/session_key.hpp"
#include "protocol/messages.hpp"

namespace chat::core::commands {

namespace text = protocol::text;

namespace {

using Pending = Connection::PendingPassword;

// Drops failures older than the window, then tells whether attempts are locked.
bool locked(std::vector<Clock::time_point>& failures, Clock::time_point locked_until,
            const RealmSettings& settings, Clock::time_point now) {
  // Oldest first: the expired ones are a prefix.
  const auto first_kept = std::find_if(failures.begin(), failures.end(), [&](Clock::time_point t) {
    return now - t < settings.failed_auth_window;
  });
  failures.erase(failures.begin(), first_kept);
  return now < locked_until;
}

void count_failure(std::vector<Clock::time_point>& failures, Clock::time_point& locked_until,
                   const RealmSettings& settings, Clock::time_point now) {
  failures.push_back(now);
  if (failures.size() >= static_cast<std::size_t>(settings.max_failed_auths)) {
    locked_until = now + settings.lockout;
    failures.clear();
  }
}

// Ends the session `key` in memory and, with the request's commit, in the store.
void end_session(Request& req, const std::string& key) {
  if (req.state.end_session(key)) req.out.mutations.emplace_back(store::DeleteSession{key});
}

// Binds a new session for `user` to the connection, ending the one it had. The session is
// stored with the request's commit, so the reply carrying its token waits for it.
std::string bind_session(Request& req, const std::string& user) {
  Connection& conn = req.conn;
  if (!conn.user.empty()) {
    end_session(req, conn.session_key);
    unbind_connection(req.state, conn);
  }
  std::string token = req.env.new_token();
  std::string key = session_key(token);
  if (auto evicted = req.state.add_session(key, user, req.env.now())) {
    req.out.mutations.emplace_back(store::DeleteSession{std::move(*evicted)});
  }
  req.out.mutations.emplace_back(store::PutSession{{key, user}});
  conn.user = user;
  conn.session_key = key;
  req.state.bind_connection(key);
  return token;
}

}  // namespace

void unbind_connection(RealmState& state, Connection& conn) {
  if (conn.user.empty()) return;
  if (conn.watching) state.remove_watcher(conn.user, conn.id);
  conn.watching = false;
  state.unbind_connection(conn.session_key);
  conn.user.clear();
  conn.session_key.clear();
}

void auth(Request& req) {
  std::string_view username = req.params[0];
  auto now = req.env.now();
  Connection& conn = req.conn;
  AuthFailures& by_address =
      req.state.auth_failures(username, conn.address, now, req.settings.failed_auth_window);
  // Locked: this connection (trying many accounts), or this address for this username
  // (guessing one account). Nobody else is locked out of the account.
  if (locked(conn.failed_auths, conn.auth_locked_until, req.settings, now) ||
      locked(by_address.recent, by_address.locked_until, req.settings, now)) {
    req.out.audit.push_back("auth refused, too many failures: user " + std::string(username));
    return reply_error(req, text::too_many_attempts);
  }
  const User* user = req.state.find_user(username);
  if (user == nullptr) {
    count_failure(conn.failed_auths, conn.auth_locked_until, req.settings, now);
    req.out.audit.push_back("failed login: no user " + std::string(username));
    return reply_error(req, text::user_missing);
  }
  // Many failures from anywhere: every attempt waits first, the right password included.
  AuthFailures& anywhere = req.state.auth_failures(username);
  locked(anywhere.recent, anywhere.locked_until, req.settings, now);  // drops expired ones
  const bool slowed =
      anywhere.recent.size() >= static_cast<std::size_t>(req.settings.slow_after_failed_auths);
  Pending pending;
  pending.kind = Pending::Kind::auth;
  pending.user.username = username;
  conn.pending = std::make_unique<Pending>(std::move(pending));
  req.out.password =
      PasswordJob{PasswordJob::Kind::verify, std::string(req.params[1]), user->record.password_hash,
                  slowed ? req.settings.auth_slowdown : std::chrono::milliseconds{0}};
}

void register_user(Request& req) {
  if (req.state.find_user(req.params[0]) != nullptr) return reply_error(req, text::user_exists);
  Pending pending;
  pending.kind = Pending::Kind::register_user;
  pending.user.username = req.params[0];
  pending.user.nama = req.params[2];
  pending.user.negara = req.params[3];
  req.conn.pending = std::make_unique<Pending>(std::move(pending));
  req.out.password = PasswordJob{PasswordJob::Kind::hash, std::string(req.params[1]), {}};
}

void finish_password(Request& req, const PasswordResult& result) {
  if (!req.conn.pending) return reply_error(req, text::bad_parameter);
  Pending pending = std::move(*req.conn.pending);
  req.conn.pending.reset();
  const std::string& username = pending.user.username;

  if (pending.kind == Pending::Kind::auth) {
    if (!result.ok) {
      auto now = req.env.now();
      count_failure(req.conn.failed_auths, req.conn.auth_locked_until, req.settings, now);
      AuthFailures& by_address =
          req.state.auth_failures(username, req.conn.address, now, req.settings.failed_auth_window);
      count_failure(by_address.recent, by_address.locked_until, req.settings, now);
      req.state.auth_failures(username).recent.push_back(now);  // slows, never locks
      req.out.audit.push_back("failed login: wrong password for user " + username);
      if (by_address.locked_until > now) {
        req.out.audit.push_back("auth locked for user " + username + " from this address for " +
                                std::to_string(req.settings.lockout.count()) + " s");
      }
      return reply_error(req, text::wrong_password);
    }
    req.out.reply = protocol::reply::ok_token(bind_session(req, username));
    return;
  }

  // register: another connection may have taken the name while this one was hashing.
  if (req.state.find_user(username) != nullptr) return reply_error(req, text::user_exists);
  if (!result.ok) return reply_error(req, text::store_failed);
  pending.user.password_hash = result.hash;
  req.out.mutations.emplace_back(store::PutUser{pending.user});
  req.state.add_user(pending.user);
  req.out.reply = protocol::reply::ok_registered(bind_session(req, username));
}

void logout(Request& req) {
  const std::string key = req.token.empty() ? req.conn.session_key : session_key(req.token);
  end_session(req, key);
  // Token mode ends that session, not this connection's (unless it is the same one).
  if (key == req.conn.session_key) unbind_connection(req.state, req.conn);
  reply_ok(req, text::logged_out);
}

void info(Request& req) {
  const User* user = req.state.find_user(req.params[0]);
  if (user == nullptr) return reply_error(req, text::user_not_found);
  req.out.reply =
      protocol::reply::ok_info({user->record.username, user->record.nama, user->record.negara,
                                req.settings.name, req.state.online(user->record.username)});
}

}  // namespace chat::core::commands
