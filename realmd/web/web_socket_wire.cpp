#include "web/web_socket_wire.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace realmd {
namespace {

// RFC 6455 §7.4.1 status codes that realmd sends itself (wslay sends 1002 and 1009).
constexpr std::uint16_t close_normal = 1000;
constexpr std::uint16_t close_going_away = 1001;
constexpr std::uint16_t close_unsupported_data = 1003;
constexpr std::uint16_t close_try_again_later = 1013;

std::uint16_t close_code(CloseReason reason) {
  switch (reason) {
    case CloseReason::server_stopping:
      return close_going_away;
    case CloseReason::server_busy:
      return close_try_again_later;
    default:
      return close_normal;
  }
}

}  // namespace

WebSocketWire::WebSocketWire(std::size_t max_message_bytes, std::string_view already_read) {
  const wslay_event_callbacks callbacks{.recv_callback = &WebSocketWire::on_recv,
                                        .send_callback = &WebSocketWire::on_send,
                                        .genmask_callback = nullptr,
                                        .on_frame_recv_start_callback = nullptr,
                                        .on_frame_recv_chunk_callback = nullptr,
                                        .on_frame_recv_end_callback = nullptr,
                                        .on_msg_recv_callback = &WebSocketWire::on_message};
  if (wslay_event_context_server_init(&ctx_, &callbacks, this) != 0) throw std::bad_alloc();
  wslay_event_config_set_max_recv_msg_length(ctx_, max_message_bytes);
  if (!already_read.empty()) feed(already_read);
}

WebSocketWire::~WebSocketWire() {
  wslay_event_context_free(ctx_);
}

void WebSocketWire::feed(std::string_view bytes) {
  if (ended_) return;
  boundaries_.feed(bytes);
  input_ = bytes;
  const int result = wslay_event_recv(ctx_);
  input_ = {};  // what wslay did not read (after a close) is dropped
  flush();      // pongs and closes wslay queued while reading
  if (ended_) return;
  if (wslay_event_get_close_received(ctx_)) {
    ended_ = CloseReason::peer_closed;
  } else if (result != 0 || !wslay_event_get_read_enabled(ctx_)) {
    ended_ = wslay_event_get_status_code_sent(ctx_) == WSLAY_CODE_MESSAGE_TOO_BIG
                 ? CloseReason::line_too_long
                 : CloseReason::bad_websocket;
  }
}

void WebSocketWire::FrameBoundaries::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (payload_left_ > 0) {
      const std::uint64_t taken = std::min<std::uint64_t>(payload_left_, bytes.size());
      payload_left_ -= taken;
      bytes.remove_prefix(taken);
      continue;
    }
    header_ += bytes.front();
    bytes.remove_prefix(1);
    if (header_.size() < 2) continue;
    // RFC 6455 5.2: 2 bytes, then 2 or 8 bytes of extended length, then a 4-byte mask.
    const auto second = static_cast<unsigned char>(header_[1]);
    const std::size_t length_code = second & 0x7f;
    const std::size_t extended = length_code == 126 ? 2 : length_code == 127 ? 8 : 0;
    const std::size_t header_size = 2 + extended + ((second & 0x80) ? 4 : 0);
    if (header_.size() < header_size) continue;
    std::uint64_t length = length_code;
    if (extended > 0) {
      length = 0;
      for (std::size_t i = 0; i < extended; ++i)
        length = (length << 8) | static_cast<unsigned char>(header_[2 + i]);
    }
    const auto first = static_cast<unsigned char>(header_[0]);
    const bool is_data = (first & 0x08) == 0;  // opcodes 0-7: continuation, text, binary
    if (is_data) fragmented_ = (first & 0x80) == 0;
    payload_left_ = length;
    header_.clear();
  }
}

WireFormat::Status WebSocketWire::next(std::string& request) {
  if (requests_.empty()) return Status::need_more;
  request = std::move(requests_.front());
  requests_.pop_front();
  return Status::request;
}

std::optional<std::string> WebSocketWire::frame(std::string reply) {
  const wslay_event_msg message{.opcode = WSLAY_TEXT_FRAME,
                                .msg = reinterpret_cast<const std::uint8_t*>(reply.data()),
                                .msg_length = reply.size()};
  if (wslay_event_queue_msg(ctx_, &message) != 0) return std::nullopt;  // closing
  flush();
  return std::exchange(output_, {});
}

std::string WebSocketWire::take_control_bytes() {
  return std::exchange(output_, {});
}

std::string WebSocketWire::farewell(CloseReason reason) {
  // A peer that left without a close frame is not told goodbye.
  if (reason == CloseReason::peer_closed) return {};
  if (wslay_event_queue_close(ctx_, close_code(reason), nullptr, 0) != 0) return {};
  flush();
  return std::exchange(output_, {});
}

void WebSocketWire::flush() {
  // on_send never blocks, so one call sends all that is queued.
  if (wslay_event_want_write(ctx_)) wslay_event_send(ctx_);
}

ssize_t WebSocketWire::on_recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len,
                               int /*flags*/, void* self) {
  auto& wire = *static_cast<WebSocketWire*>(self);
  if (wire.input_.empty()) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const std::size_t n = std::min(len, wire.input_.size());
  std::memcpy(buf, wire.input_.data(), n);
  wire.input_.remove_prefix(n);
  return static_cast<ssize_t>(n);
}

ssize_t WebSocketWire::on_send(wslay_event_context_ptr /*ctx*/, const std::uint8_t* data,
                               std::size_t len, int /*flags*/, void* self) {
  static_cast<WebSocketWire*>(self)->output_.append(reinterpret_cast<const char*>(data), len);
  return static_cast<ssize_t>(len);
}

void WebSocketWire::on_message(wslay_event_context_ptr ctx,
                               const struct wslay_event_on_msg_recv_arg* arg, void* self) {
  auto& wire = *static_cast<WebSocketWire*>(self);
  if (wire.ended_) return;
  if (arg->opcode == WSLAY_BINARY_FRAME) {
    // The protocol is text: a binary message is refused and ends the conversation.
    wire.ended_ = CloseReason::bad_websocket;
    wslay_event_shutdown_read(ctx);
    wslay_event_queue_close(ctx, close_unsupported_data, nullptr, 0);
    return;
  }
  if (arg->opcode != WSLAY_TEXT_FRAME) return;  // ping, pong and close: wslay answers them
  std::string_view text(reinterpret_cast<const char*>(arg->msg), arg->msg_length);
  // A frame is one line; its line end, if the client sent one, is not part of it.
  if (text.ends_with("\r\n")) {
    text.remove_suffix(2);
  } else if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  wire.requests_.emplace_back(text);
}

}  // namespace realmd
