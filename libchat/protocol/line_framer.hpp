#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace chat::protocol {

// Splits a byte stream into lines ending in '\n' (a '\r' before the '\n' is dropped).
// A line longer than the limit (not counting its terminator) makes the framer report
// too_long and stay in that state: the connection is to be closed after an error. An unfinished
// line is reported as soon as it passes the limit, so a caller that drains next() after each
// feed() never buffers much more than one line plus one read.
class LineFramer {
 public:
  enum class Status { line, need_more, too_long };

  explicit LineFramer(std::size_t max_line_bytes);

  // Appends received bytes. Cheap: lines are cut lazily by next(). Ignored after too_long.
  void feed(std::string_view bytes);
  // Yields the next complete line into `line` (without terminator), or need_more / too_long.
  Status next(std::string& line);
  // Bytes buffered but not yet returned as a line (a partial line); 0 after too_long.
  std::size_t pending_bytes() const { return buffer_.size() - consumed_; }
  // Memory the buffer holds (tests: a burst of long lines does not stay held once drained).
  std::size_t buffer_capacity() const { return buffer_.capacity(); }

  // Capacity kept once every line is returned: what a usual request or pipelined burst needs.
  // Past it, the buffer is freed, so that a connection that sent a long line once and then
  // idles does not hold the line's memory (docs/performance.md "Idle connections").
  static constexpr std::size_t kept_capacity = 4096;

 private:
  // Enters the too_long state and frees the buffer.
  Status fail();
  // Frees the buffer; only when it holds no partial line.
  void release_buffer();

  std::size_t max_line_bytes_;
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already returned
  std::size_t scanned_ = 0;   // bytes after consumed_ known to hold no '\n'
  bool too_long_ = false;
};

}  // namespace chat::protocol
