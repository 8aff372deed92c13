#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "load_connection.hpp"
#include "phase.hpp"
#include "reply_scanner.hpp"

namespace chatbench {

// A set of client connections to one server, run on one thread through phases. Each phase
// runs the event loop until every taking part connection has its last reply (or gave up).
class LoadRunner {
 public:
  // `tls`: the connections speak TLS with this client context (it outlives the runner).
  LoadRunner(asio::io_context& io, Dialect dialect, asio::ssl::context* tls = nullptr);

  // Opens `count` connections, at most `window` connecting at a time (a burst of thousands
  // would overflow the listen backlog and wait out SYN retransmits). Throws on a failure.
  void connect(const asio::ip::tcp::endpoint& server, std::size_t count, std::size_t window = 256);
  std::size_t size() const { return connections_.size(); }
  std::size_t open_count() const;

  PhaseResult run(PhasePlan& plan);

 private:
  asio::io_context& io_;
  Dialect dialect_;
  asio::ssl::context* tls_;
  std::vector<std::unique_ptr<LoadConnection>> connections_;
};

}  // namespace chatbench
