// watch, unwatch (ours, docs/protocol.md): live delivery of new messages to a connection.
#include "core/commands/common.hpp"
#include "core/commands/handlers.hpp"
#include "core/realm_state.hpp"
#include "core/session_key.hpp"
#include "protocol/messages.hpp"

namespace chat::core::commands {

namespace text = protocol::text;

void watch(Request& req) {
  // A connection without a session takes the one its token names, as `auth` would have bound
  // it: a client that reconnected resumes with its token and is live again. The watch then
  // ends with that session like any other.
  if (req.conn.user.empty() && !req.token.empty()) {
    req.conn.user = req.user;
    req.conn.session_key = session_key(req.token);
    req.state.bind_connection(req.conn.session_key);
  }
  // Live delivery belongs to the connection's own session: a token-mode request from
  // another connection cannot turn it on here for a different user.
  if (req.conn.user != req.user) return reply_error(req, text::no_session);
  req.state.add_watcher(req.conn.user, req.conn.id, req.conn.session_key);
  req.conn.watching = true;
  reply_ok(req, text::watching);
}

void unwatch(Request& req) {
  if (req.conn.watching) req.state.remove_watcher(req.conn.user, req.conn.id);
  req.conn.watching = false;
  reply_ok(req, text::watch_stopped);
}

}  // namespace chat::core::commands
