#include "web_client.hpp"

#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <stdexcept>

namespace test_support {
namespace {

// RFC 6455 §1.3's example key and its accept value.
constexpr std::string_view upgrade_request =
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
constexpr std::string_view expected_accept = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

}  // namespace

WebClient::WebClient(std::uint16_t port) : socket_(io_) {
  socket_.connect({asio::ip::address_v4::loopback(), port});
  asio::write(socket_, asio::buffer(upgrade_request));
  const std::size_t head = asio::read_until(socket_, asio::dynamic_buffer(input_), "\r\n\r\n");
  const std::string response = input_.substr(0, head);
  input_.erase(0, head);
  if (!response.starts_with("HTTP/1.1 101 ") ||
      response.find(expected_accept) == std::string::npos) {
    throw std::runtime_error("no WebSocket upgrade: " + response);
  }
  const wslay_event_callbacks callbacks{.recv_callback = &WebClient::on_recv,
                                        .send_callback = &WebClient::on_send,
                                        .genmask_callback = &WebClient::on_genmask,
                                        .on_frame_recv_start_callback = nullptr,
                                        .on_frame_recv_chunk_callback = nullptr,
                                        .on_frame_recv_end_callback = nullptr,
                                        .on_msg_recv_callback = &WebClient::on_message};
  if (wslay_event_context_client_init(&ctx_, &callbacks, this) != 0) {
    throw std::runtime_error("wslay_event_context_client_init failed");
  }
}

WebClient::~WebClient() {
  wslay_event_context_free(ctx_);
}

void WebClient::queue(std::uint8_t opcode, std::string_view data) {
  const wslay_event_msg message{.opcode = opcode,
                                .msg = reinterpret_cast<const std::uint8_t*>(data.data()),
                                .msg_length = data.size()};
  if (wslay_event_queue_msg(ctx_, &message) != 0 || wslay_event_send(ctx_) != 0) {
    throw std::runtime_error("cannot send a WebSocket message");
  }
}

void WebClient::send_text(std::string_view text) {
  queue(WSLAY_TEXT_FRAME, text);
}

void WebClient::send_binary(std::string_view bytes) {
  queue(WSLAY_BINARY_FRAME, bytes);
}

void WebClient::send_ping(std::string_view payload) {
  queue(WSLAY_PING, payload);
}

void WebClient::send_close(std::uint16_t code) {
  if (wslay_event_queue_close(ctx_, code, nullptr, 0) != 0 || wslay_event_send(ctx_) != 0) {
    throw std::runtime_error("cannot send a close frame");
  }
}

WebClient::Message WebClient::expect_message(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (messages_.empty()) {
    if (!read_some(deadline)) throw std::runtime_error("connection ended while waiting");
  }
  Message message = std::move(messages_.front());
  messages_.pop_front();
  return message;
}

std::string WebClient::expect_text(std::chrono::milliseconds timeout) {
  Message message = expect_message(timeout);
  if (message.opcode != WSLAY_TEXT_FRAME) {
    throw std::runtime_error("expected a text message, got opcode " +
                             std::to_string(message.opcode) + " (close code " +
                             std::to_string(message.close_code) + ")");
  }
  return message.data;
}

std::string WebClient::request(std::string_view line) {
  send_text(line);
  return expect_text();
}

bool WebClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  try {
    while (read_some(deadline)) {
    }
    return true;
  } catch (const std::runtime_error&) {
    return false;  // the deadline passed
  }
}

bool WebClient::read_some(std::chrono::steady_clock::time_point deadline) {
  std::array<char, 4096> chunk;
  std::error_code result = asio::error::timed_out;
  std::size_t length = 0;
  socket_.async_read_some(asio::buffer(chunk), [&](std::error_code ec, std::size_t n) {
    result = ec;
    length = n;
  });
  io_.restart();
  io_.run_until(deadline);
  if (!io_.stopped()) {
    socket_.cancel();
    io_.restart();
    io_.run();
    throw std::runtime_error("nothing from the server within the deadline");
  }
  if (result) return false;  // end of stream or reset
  input_.append(chunk.data(), length);
  wslay_event_recv(ctx_);
  wslay_event_send(ctx_);  // wslay's automatic pongs and close replies
  return true;
}

ssize_t WebClient::on_recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int,
                           void* self) {
  auto& client = *static_cast<WebClient*>(self);
  if (client.input_.empty()) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const std::size_t n = std::min(len, client.input_.size());
  std::memcpy(buf, client.input_.data(), n);
  client.input_.erase(0, n);
  return static_cast<ssize_t>(n);
}

ssize_t WebClient::on_send(wslay_event_context_ptr ctx, const std::uint8_t* data, std::size_t len,
                           int, void* self) {
  std::error_code ec;
  asio::write(static_cast<WebClient*>(self)->socket_, asio::buffer(data, len), ec);
  if (ec) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return static_cast<ssize_t>(len);
}

int WebClient::on_genmask(wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, void*) {
  // Masking keeps proxies from mistaking frames for requests; a test needs no secrecy.
  for (std::size_t i = 0; i < len; ++i) buf[i] = static_cast<std::uint8_t>(0x5a + i);
  return 0;
}

void WebClient::on_message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                           void* self) {
  static_cast<WebClient*>(self)->messages_.push_back(
      {.opcode = arg->opcode,
       .data = std::string(reinterpret_cast<const char*>(arg->msg), arg->msg_length),
       .close_code = arg->status_code});
}

std::string http_exchange(std::uint16_t port, std::string_view request,
                          std::chrono::milliseconds timeout) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), port});
  asio::write(socket, asio::buffer(request));
  std::string response;
  bool ended = false;
  asio::async_read(socket, asio::dynamic_buffer(response),
                   [&](std::error_code, std::size_t) { ended = true; });
  io.run_for(timeout);
  if (!ended) throw std::runtime_error("the server did not close; received: " + response);
  return response;
}

}  // namespace test_support
