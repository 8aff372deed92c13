#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/realm.hpp"
#include "net/channel.hpp"
#include "net/wire_format.hpp"

namespace realmd {

class CommitQueue;
class HistoryReaders;
class Metrics;
class OutcomeRunner;
class PasswordPool;
class ReplyWaits;

// What a client session uses of its server; all of it outlives the sessions, which share one
// (each session keeps a reference, not a copy: 88 bytes per idle connection).
struct ClientServices {
  chat::core::Realm& realm;
  Metrics& metrics;
  CommitQueue& commits;
  PasswordPool& passwords;
  ReplyWaits& waits;
  OutcomeRunner& outcomes;
  HistoryReaders& history;
  std::function<void(std::uint64_t connection_id)> closed;  // the server forgets the session
};

// One client connection: request lines go to the realm; of each Outcome the OutcomeRunner
// carries out what concerns the realm, and the session what concerns this connection, in the
// order docs/design.md §3 gives (mutations queued, reply written after their commit, inbox ids
// confirmed or released once the write's fate is known). The transport is the wire format's
// business: lines over TCP (LineWire) or WebSocket text frames (WebSocketWire) are served alike.
class ClientSession final : public Channel {
 public:
  // Without a session bound by auth or register, the connection is closed after
  // `unauthenticated_idle` without a request (zero: never).
  ClientSession(Stream stream, std::uint64_t connection_id, Limits limits,
                std::chrono::milliseconds unauthenticated_idle, const ClientServices& services,
                std::unique_ptr<WireFormat> wire);

  std::uint64_t id() const { return conn_.id; }
  // A pushed event (`watch`: a copy of a message delivered to this user), written between
  // replies once commit `seq` is done. "Deliver" means storing into an inbox (core), only.
  void push_event(chat::core::Push event, std::uint64_t seq);

 private:
  asio::awaitable<void> on_request(std::string_view line) override;
  void on_request_too_long() override;
  void on_written(const std::vector<std::uint64_t>& ids) override;
  void on_lost(const std::vector<std::uint64_t>& ids) override;
  void on_closed(CloseReason reason) override;
  void on_timed_out(CloseReason reason) override;
  // One request, checked and carried out (on_request adds the idle limit around it).
  asio::awaitable<void> serve(std::string_view line);
  // The idle limit runs while no session is bound to the connection.
  void rearm_idle_limit();

  void carry_out(chat::core::Outcome outcome, std::size_t command);
  // A `history` reply: its place is kept; once commit `seq` is done the page is read off the
  // loop and fills it (counted for `command` in Metrics then).
  void read_history(chat::store::HistoryQuery query, std::uint64_t seq, std::size_t command);
  // Waits while this connection has the most history reads in flight that it may have.
  asio::awaitable<void> wait_for_history_slot();
  // `command`: the request it answers (Metrics), none for a timeout.
  void reply_error(std::string_view message, std::optional<std::size_t> command,
                   std::optional<CloseReason> close_after = {});

  std::chrono::milliseconds unauthenticated_idle_;
  const ClientServices& services_;
  chat::core::Connection conn_;
  std::size_t history_reads_ = 0;  // in flight
  // Cancelled when a read finishes; made when first waited on (most connections never do).
  std::unique_ptr<asio::steady_timer> history_slot_;
};

}  // namespace realmd
