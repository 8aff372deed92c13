#pragma once
#include <sys/types.h>
#include <wslay/wslay.h>

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "net/wire_format.hpp"

namespace realmd {

// The WebSocket form of the client protocol (docs/protocol.md §3), after the HTTP upgrade:
// one request per text frame, one reply or event per text frame. wslay does the framing,
// unmasking, fragment reassembly, ping/pong and the close handshake; it never touches the
// socket here: its callbacks read from the bytes given to feed() and append what it sends to a
// string, which the channel's ordered write queue carries.
class WebSocketWire final : public WireFormat {
 public:
  // `max_message_bytes` bounds one message (a longer one closes with 1009); `already_read`
  // holds bytes that arrived behind the HTTP upgrade request.
  WebSocketWire(std::size_t max_message_bytes, std::string_view already_read);
  ~WebSocketWire() override;
  WebSocketWire(const WebSocketWire&) = delete;
  WebSocketWire& operator=(const WebSocketWire&) = delete;

  void feed(std::string_view bytes) override;
  Status next(std::string& request) override;
  bool holds_partial_request() const override { return boundaries_.inside_message(); }
  std::optional<std::string> frame(std::string reply) override;
  std::string take_control_bytes() override;
  std::optional<CloseReason> ended() const override { return ended_; }
  std::string farewell(CloseReason reason) override;

 private:
  static ssize_t on_recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int flags,
                         void* self);
  static ssize_t on_send(wslay_event_context_ptr ctx, const std::uint8_t* data, std::size_t len,
                         int flags, void* self);
  static void on_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg* arg,
                         void* self);
  // Runs wslay's sender: everything it queued lands in output_.
  void flush();

  // wslay keeps its parser's state to itself, so the frame boundaries are followed here too:
  // they tell whether a message has begun and not ended (the slowloris limit).
  class FrameBoundaries {
   public:
    void feed(std::string_view bytes);
    bool inside_message() const { return !header_.empty() || payload_left_ > 0 || fragmented_; }

   private:
    std::string header_;              // the current frame's header bytes so far
    std::uint64_t payload_left_ = 0;  // payload bytes of the current frame still to come
    bool fragmented_ = false;         // a data frame without FIN came: its message goes on
  };

  wslay_event_context_ptr ctx_ = nullptr;
  FrameBoundaries boundaries_;
  std::string_view input_;  // the bytes of the feed() in progress, not yet read by wslay
  std::string output_;      // bytes wslay sent, not yet taken
  std::deque<std::string> requests_;
  std::optional<CloseReason> ended_;
};

}  // namespace realmd
