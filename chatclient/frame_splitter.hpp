#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// Cuts the byte stream a realm sends into frames and tells replies from pushed events
// (docs/protocol.md "Extra commands: watch, unwatch"). Pure: no I/O, unit-tested.
namespace chat::client {

// Every frame, reply or event, ends in this.
inline constexpr std::string_view frame_terminator = "\r\n\r\n";

class FrameSplitter {
 public:
  // A frame longer than this (without its terminator) is refused: see overflowed().
  explicit FrameSplitter(std::size_t max_frame_bytes);

  void append(std::string_view bytes);
  // The oldest complete frame's text without its terminator, or nullopt until one is whole.
  std::optional<std::string> next_frame();
  // After next_frame() returned nullopt: the partial frame held is already longer than
  // max_frame_bytes, so the peer is not a realm (or not a sane one).
  bool overflowed() const;

 private:
  std::size_t max_frame_bytes_;
  std::string buffer_;
  // buffer_[0, scanned_) holds no terminator start, so a long reply is searched once.
  std::size_t scanned_ = 0;
};

enum class FrameKind { reply, event };

// An object with an "event" key and no "status" is an event; anything else (including text
// that is not JSON) goes to the pending request, whose printer reports it.
FrameKind kind_of_frame(std::string_view frame_json);

}  // namespace chat::client
