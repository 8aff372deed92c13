#include "chatclient/frame_splitter.hpp"

#include <rapidjson/document.h>

namespace chat::client {

FrameSplitter::FrameSplitter(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

void FrameSplitter::append(std::string_view bytes) {
  buffer_.append(bytes);
}

std::optional<std::string> FrameSplitter::next_frame() {
  const std::size_t end = buffer_.find(frame_terminator, scanned_);
  if (end == std::string::npos) {
    // A terminator may straddle the next append: rescan its possible first bytes.
    const std::size_t keep = frame_terminator.size() - 1;
    scanned_ = buffer_.size() > keep ? buffer_.size() - keep : 0;
    return std::nullopt;
  }
  std::string frame = buffer_.substr(0, end);
  buffer_.erase(0, end + frame_terminator.size());
  scanned_ = 0;
  return frame;
}

bool FrameSplitter::overflowed() const {
  // Everything held is one partial frame, possibly ending in part of a terminator.
  return buffer_.size() > max_frame_bytes_ + frame_terminator.size() - 1;
}

FrameKind kind_of_frame(std::string_view frame_json) {
  rapidjson::Document frame;
  frame.Parse(frame_json.data(), frame_json.size());
  if (frame.HasParseError() || !frame.IsObject()) return FrameKind::reply;
  const rapidjson::Value& object = frame;  // RapidJSON 1.1 + C++20 reversed operators
  const bool has_event = object.FindMember("event") != object.MemberEnd();
  const bool has_status = object.FindMember("status") != object.MemberEnd();
  return has_event && !has_status ? FrameKind::event : FrameKind::reply;
}

}  // namespace chat::client
