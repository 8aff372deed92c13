#pragma once
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/records.hpp"

namespace realmd {

// One realm's Prometheus metrics (docs/operations.md "Metrics"), through prometheus-cpp's core:
// a registry of families and a text serializer; realmd's admin listener serves the text.
//
// The hot path pays one atomic add: request() finds its counter in an array by command index
// (resolved once per line from the static command table, no labels built, no map searched).
// Gauges that describe the server's state (connections, links, outboxes, the store) are not
// kept up to date on every change at all: the server sets them from its own state just
// before each scrape (Snapshot).
class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The index of a request line's command for request(): its position in
  // chat::core::all_commands(), or unknown_command.
  static std::size_t command_of(std::string_view line);
  static const std::size_t unknown_command;

  // One request answered (status OK or ERROR); a failed auth also counts as an auth failure.
  void request(std::size_t command, bool ok);
  // Whether a reply's status is OK ({"status":"OK",...}).
  static bool is_ok(std::string_view reply);

  // A live delivery written to a `watch`ing connection.
  void pushed() { pushes_.Increment(); }

  // A store commit of `batch` that took `seconds` (on the commit thread; metrics are atomic).
  void committed(const std::vector<chat::store::Mutation>& batch, double seconds);

  struct PeerStatus {
    std::string name;
    bool link_up = false;
    std::size_t outbox = 0;
  };
  struct Snapshot {
    std::size_t client_connections = 0;  // line clients, TCP or TLS
    std::size_t web_connections = 0;     // WebSocket clients and HTTP requests in progress
    std::size_t peer_connections = 0;    // realm links, authenticated or in their handshake
    std::size_t reply_waits = 0;         // client replies waiting for a peer realm
    bool store_stalled = false;
    bool primary = true;
    std::vector<PeerStatus> peers;
  };
  // The text exposition format (0.0.4) of every family, gauges set from `state` first.
  std::string serialize(const Snapshot& state);

 private:
  struct RequestCounters {
    prometheus::Counter* ok = nullptr;
    prometheus::Counter* error = nullptr;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<RequestCounters> requests_;  // by command index; the last one is unknown_command
  std::size_t auth_command_;
  prometheus::Counter& auth_failures_;
  prometheus::Counter& messages_stored_;
  prometheus::Counter& pushes_;
  prometheus::Gauge& reply_waits_;
  prometheus::Histogram& commit_batch_size_;
  prometheus::Histogram& commit_duration_;
  prometheus::Family<prometheus::Gauge>& connections_;
  prometheus::Gauge& store_stalled_;
  prometheus::Gauge& is_primary_;
  prometheus::Family<prometheus::Gauge>& peer_link_up_;
  prometheus::Family<prometheus::Gauge>& outbox_messages_;
};

}  // namespace realmd
