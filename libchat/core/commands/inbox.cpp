// inbox: the unread messages sent from this realm.
#include "core/commands/common.hpp"
#include "core/commands/handlers.hpp"

namespace chat::core::commands {

void inbox(Request& req) {
  req.out.reply = protocol::reply::ok_inbox(
      take_unread(req.state, req.settings, req.user, req.settings.name, req.out.fetched_after_write)
          .by_sender);
}

}  // namespace chat::core::commands
