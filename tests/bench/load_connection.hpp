#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "phase.hpp"
#include "reply_scanner.hpp"

namespace chatbench {

// The phase being run, shared by every connection taking part.
struct ActivePhase {
  const PhasePlan* plan = nullptr;
  PhaseResult* result = nullptr;
  Clock::time_point started;
  Clock::time_point last_reply;
  std::uint64_t issued = 0;
  bool stopping = false;  // no new requests: only the ones in flight are awaited
  std::function<void()> connection_finished;

  bool may_issue() const { return !stopping && (!plan->count || issued < *plan->count); }
};

// One client connection of a closed-loop run: keeps up to `pipeline` requests in flight,
// issues a new one for each reply, and times each reply against the moment its request was
// queued. Writes are batched: requests issued while a write is in flight go out together.
// With a TLS context, it speaks TLS over its socket once handshake() has succeeded.
class LoadConnection {
 public:
  LoadConnection(asio::io_context& io, Dialect dialect, asio::ssl::context* tls = nullptr);

  asio::ip::tcp::socket& socket() { return socket_; }
  // After connecting: the TLS handshake (at once, without error, on a plain connection).
  void handshake(std::function<void(std::error_code)> done);
  // Starts taking part in `phase`, drawing requests from `source`.
  void start(ActivePhase& phase, RequestSource& source);
  // Called when the phase stops issuing: finishes at once if nothing is in flight.
  void stop_issuing();
  // Gives up on the requests in flight (they count as errors) and closes the socket.
  void abandon(std::string_view why);
  bool open() const { return socket_.is_open(); }

 private:
  struct InFlight {
    Clock::time_point sent;
    std::string request;  // kept to name the request in the first error
  };

  // An async read or write on the socket, or through TLS over it.
  template <typename Operation>
  void on_stream(Operation&& operation) {
    if (tls_) {
      operation(*tls_);
    } else {
      operation(socket_);
    }
  }
  void fill();
  void flush();
  void read();
  void on_read(std::size_t bytes);
  void on_reply(std::string_view reply);
  void fail(std::string_view why);
  void finish_if_idle();

  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  ReplyScanner scanner_;
  ActivePhase* phase_ = nullptr;
  RequestSource* source_ = nullptr;
  bool exhausted_ = false;
  bool finished_ = true;
  bool reading_ = false;
  bool writing_ = false;

  // In-flight requests, oldest first: a ring of `pipeline` slots whose strings are reused.
  std::vector<InFlight> in_flight_;
  std::size_t oldest_ = 0;
  std::size_t in_flight_count_ = 0;

  std::string pending_;  // requests not yet handed to a write
  std::string writing_buffer_;
  std::vector<char> received_;
  std::size_t received_begin_ = 0;  // first byte not yet consumed
  std::size_t received_end_ = 0;
};

}  // namespace chatbench
