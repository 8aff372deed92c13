#include "protocol/line_framer.hpp"

namespace chat::protocol {

LineFramer::LineFramer(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

void LineFramer::feed(std::string_view bytes) {
  // After too_long the connection is closing: keep nothing more from it.
  if (too_long_) return;
  // Drop returned lines before growing; erasing only once they fill half the buffer keeps the
  // cost of the move amortised to O(1) per byte.
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

LineFramer::Status LineFramer::next(std::string& line) {
  if (too_long_) return Status::too_long;

  const std::size_t newline = buffer_.find('\n', consumed_ + scanned_);
  if (newline == std::string::npos) {
    if (pending_bytes() == 0 && buffer_.capacity() > kept_capacity) release_buffer();
    scanned_ = pending_bytes();
    // A trailing '\r' may yet be the first half of "\r\n", so it does not count. Anything else
    // past the limit can only end as an over-long line: report it now, before a client can
    // make the buffer grow without bound.
    std::size_t partial = scanned_;
    if (partial > 0 && buffer_.back() == '\r') --partial;
    if (partial > max_line_bytes_) return fail();
    return Status::need_more;
  }

  std::size_t length = newline - consumed_;
  if (length > 0 && buffer_[newline - 1] == '\r') --length;
  if (length > max_line_bytes_) return fail();

  line.assign(buffer_, consumed_, length);
  consumed_ = newline + 1;
  scanned_ = 0;
  return Status::line;
}

LineFramer::Status LineFramer::fail() {
  too_long_ = true;
  release_buffer();
  return Status::too_long;
}

void LineFramer::release_buffer() {
  std::string().swap(buffer_);
  consumed_ = 0;
  scanned_ = 0;
}

}  // namespace chat::protocol
