#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "net/wire_format.hpp"
#include "protocol/line_framer.hpp"

namespace realmd {

// Requests are "\n"-ended lines (LineFramer); each reply is followed by `terminator`:
// "\r\n\r\n" for clients, "\n" for realm-link frames.
class LineWire final : public WireFormat {
 public:
  LineWire(std::size_t max_line_bytes, std::string_view terminator)
      : framer_(max_line_bytes), terminator_(terminator) {}

  void feed(std::string_view bytes) override { framer_.feed(bytes); }
  Status next(std::string& request) override;
  bool holds_partial_request() const override { return framer_.pending_bytes() > 0; }
  std::optional<std::string> frame(std::string reply) override {
    reply += terminator_;
    return reply;
  }

 private:
  chat::protocol::LineFramer framer_;
  std::string_view terminator_;
};

}  // namespace realmd
