#pragma once
#include <cstddef>
#include <string_view>

namespace chatbench {

// The two wire formats chatbench reads: realmchat replies (one JSON object, then "\r\n\r\n")
// and Redis replies to RPUSH (":N\r\n", or "-ERR ...\r\n").
enum class Dialect { realmchat, redis };

// Cuts replies out of a connection's received bytes without parsing their JSON: only the
// terminator is searched, and only where it could newly appear.
class ReplyScanner {
 public:
  explicit ReplyScanner(Dialect dialect) : dialect_(dialect) {}

  // The length of the first complete reply in `received` (terminator included), or 0 when it
  // is not complete yet. `received` must start where the previous reply ended and keep the
  // bytes seen so far (they are not searched again).
  std::size_t next_reply(std::string_view received);
  // Called after the caller consumed a reply: the next search starts afresh.
  void consumed() { searched_ = 0; }

  bool is_ok(std::string_view reply) const;

 private:
  std::string_view terminator() const {
    return dialect_ == Dialect::realmchat ? std::string_view("\r\n\r\n") : std::string_view("\r\n");
  }

  Dialect dialect_;
  std::size_t searched_ = 0;  // bytes of the pending reply known to hold no terminator
};

}  // namespace chatbench
