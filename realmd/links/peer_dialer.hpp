#pragma once
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/realm.hpp"
#include "federation/backoff.hpp"
#include "net/stream.hpp"

namespace realmd {

class OutcomeRunner;
class PeerLink;

// What a dialer uses of its server; all of it outlives the dialers' work.
struct PeerDialerServices {
  chat::core::Realm& realm;
  OutcomeRunner& outcomes;
  // Whether the realm has an authenticated link to `peer` now, dialled or accepted.
  std::function<bool(std::string_view peer)> linked;
  // Runs a link on a connected stream; the dialer waits until the link is released.
  std::function<std::shared_ptr<PeerLink>(Stream stream, const std::string& peer)> open_link;
  // Links speak TLS with these settings (tls.peers); null: plain TCP.
  asio::ssl::context* tls = nullptr;
};

// Keeps one peer this realm dials linked (docs/design.md §5): connect to realm.dial_address(peer)
// within connect_timeout (and, with TLS, shake hands within as long again, the peer's
// certificate naming the peer), run a PeerLink until it closes, wait a federation::Backoff delay
// (reset after a link that authenticated), and again, until stop(). While the realm has a link
// to the peer (e.g. one the peer dialled) it does not dial; wake() makes it look again.
// A failed attempt is reported through realm.link_down, which records it as last_error.
class PeerDialer : public std::enable_shared_from_this<PeerDialer> {
 public:
  static constexpr std::chrono::seconds connect_timeout{5};

  PeerDialer(asio::io_context& io, std::string peer, PeerDialerServices services);

  void start();
  // A link of this peer closed: look again whether to dial.
  void wake() { wake_.cancel(); }
  // Ends the loop; the dialer touches none of its services after this call.
  void stop();
  // False once the loop ended (stopped, or the peer has no address to dial any more).
  bool running() const { return running_; }

 private:
  asio::awaitable<void> run();
  // Resolves and connects socket_; returns why it failed, empty on success.
  asio::awaitable<std::string> connect(const chat::core::Realm::PeerAddress& address);
  // The TLS handshake on the connected socket_ (nothing without TLS); returns why it failed.
  asio::awaitable<std::string> secure();
  asio::awaitable<void> sleep(asio::steady_timer& timer, std::chrono::steady_clock::duration delay);
  void record_failure(const std::string& reason);
  // Moves on to the next of the peer's addresses; true when that one is to be dialled at once.
  bool next_address();

  std::string peer_;
  PeerDialerServices services_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  std::optional<Stream> stream_;  // socket_, connected, until a link takes it
  asio::steady_timer wake_;       // waits for a link to close
  asio::steady_timer pause_;      // the backoff delay
  asio::steady_timer deadline_;   // connect_timeout
  chat::federation::Backoff backoff_;
  std::uint64_t attempt_ = 0;
  std::size_t turn_ = 0;  // which of the peer's addresses to dial (Realm::dial_address)
  bool connecting_ = false;
  bool timed_out_ = false;
  bool running_ = false;
  bool stopped_ = false;
  std::string last_failure_;
};

}  // namespace realmd
