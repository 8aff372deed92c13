#include "reply_scanner.hpp"

namespace chatbench {

std::size_t ReplyScanner::next_reply(std::string_view received) {
  const std::string_view end = terminator();
  // A terminator may straddle the previous search's end: back up by its length minus one.
  const std::size_t from = searched_ >= end.size() ? searched_ - (end.size() - 1) : 0;
  const std::size_t at = received.find(end, from);
  if (at == std::string_view::npos) {
    searched_ = received.size();
    return 0;
  }
  return at + end.size();
}

bool ReplyScanner::is_ok(std::string_view reply) const {
  if (dialect_ == Dialect::redis) return !reply.empty() && (reply[0] == ':' || reply[0] == '+');
  // RapidJSON writes members in the order they were added and every reply adds "status"
  // first, but a search keeps this honest should that ever change.
  return reply.find(R"("status":"OK")") != std::string_view::npos;
}

}  // namespace chatbench
