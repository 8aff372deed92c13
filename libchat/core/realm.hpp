#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/handler_context.hpp"
#include "core/outcome.hpp"
#include "frames/link_frames.hpp"
#include "protocol/command_parser.hpp"
#include "store/records.hpp"

namespace chat::core {

class RealmState;   // users, groups, inboxes, sessions (core/realm_state.hpp)
struct Peer;        // core/peer_state.hpp
struct EpochDedup;  // core/realm_state.hpp

// The realm's logic: the command table applied to the realm's state. Single-threaded: the
// event loop that owns it calls every member function.
class Realm {
 public:
  Realm(RealmSettings settings, Environment env);
  ~Realm();
  Realm(const Realm&) = delete;
  Realm& operator=(const Realm&) = delete;

  // This realm's public signing key (64 hex digits), when it was not known at construction:
  // realmd reads it from the store as it starts serving (a standby on taking the lease).
  // Call before load().
  void set_public_key(const std::string& public_key);
  // Restores the state that the store held at start (Snapshot::unread too, if any). Keys
  // pinned earlier do not replace those of the settings (the config's win).
  void load(const store::Snapshot& snapshot);
  // Restores one unread message: Store::load_streaming's sink, so that a million unread
  // messages go into the inboxes without all being held at once first.
  void load_unread(const store::MessageRecord& message);

  // Handles one request line (terminator removed). A line that needs no reply (blank) gives an
  // Outcome without reply and without password job.
  Outcome handle(Connection& conn, std::string_view line);
  // Finishes an auth/register after its PasswordJob ran.
  Outcome resume(Connection& conn, const PasswordResult& result);

  // The reply reserving these inbox ids was written: they become fetched. Returns the
  // mutations to queue (nobody waits for their commit).
  std::vector<store::Mutation> reply_written(const std::vector<std::uint64_t>& ids);
  // The connection died before the reply was written: the ids are fetchable again.
  void reply_lost(const std::vector<std::uint64_t>& ids);
  // The connection closed (its bound session stays valid for token mode; see docs/protocol.md).
  void disconnected(Connection& conn);

  // --- federation: realmd's peer links report here and carry out what comes back ---
  struct PeerAddress {
    std::string host;
    std::uint16_t port = 0;
  };
  // Peers to dial at start (active, with an address), and where one is.
  std::vector<std::string> peers_to_dial() const;
  // A peer may have several addresses (a holder and its standbys): dial attempt `turn` uses
  // the turn-th of them, round robin; dial_addresses() says how many there are.
  std::optional<PeerAddress> dial_address(std::string_view peer, std::size_t turn = 0) const;
  std::size_t dial_addresses(std::string_view peer) const;
  // Whether an authenticated link from `realm` is welcome: any valid realm name but ours
  // (the shared secret is the membership test; a new realm is learnt from its handshake).
  bool accepts_link_from(std::string_view realm) const;
  // A link to `peer` finished its handshake: replays the outbox, answers addrealm waits.
  // `max_text`: the longest message text the peer takes (its hello; 0: unknown).
  Outcome link_up(std::string_view peer, std::uint64_t max_text = 0);
  // The link dropped (or a dial failed): waiting replies answer as queued / not synced.
  Outcome link_down(std::string_view peer, std::string_view reason);
  // A frame from an authenticated peer.
  Outcome peer_frame(std::string_view peer, const frames::PeerFrame& frame);
  // Announces this realm's routes on every link (realmd calls it after an Outcome asked for it
  // with announce_routes, at most once per route_interval).
  Outcome announce_routes();
  // The timer of a Wait fired before its Completion.
  Outcome wait_timed_out(std::uint64_t waiter);

  // One bounded pass of the history retention (realmd runs it every few seconds): the
  // mutations that delete what is past retention. `older_than`: the RFC 3339 UTC time
  // retention.max_age_days ago (ignored when that is zero).
  Outcome retention_pass(std::string_view older_than);
  // Asks the store to index the history messages stored since the last pass (at most `max`),
  // so that history reads find them by conversation (store::IndexHistory); realmd runs it
  // often. Nothing when none is waiting.
  Outcome index_pass(std::size_t max);
  // How many history messages wait for an index_pass.
  std::size_t unindexed_count() const;

  // Seed user creation at start (config `users:`); the hash is computed by the caller.
  // Returns the mutation to commit, or nothing when the user already exists.
  std::optional<store::Mutation> seed_user(const store::UserRecord& user);
  bool has_user(std::string_view username) const;

  const RealmSettings& settings() const { return settings_; }
  const RealmState& state() const { return *state_; }
  const Environment& environment() const { return env_; }

 private:
  // One handler per peer frame type (core/realm_links.cpp).
  void on_peer_frame(Peer& peer, const frames::Msg& message, Outcome& out);
  void on_peer_frame(Peer& peer, const frames::Ack& ack, Outcome& out);
  void on_peer_frame(Peer& peer, const frames::Fetch& fetch, Outcome& out);
  void on_peer_frame(Peer& peer, const frames::Fetched& fetched, Outcome& out);
  void on_peer_frame(Peer& peer, const frames::Route& routes, Outcome& out);
  void on_peer_frame(Peer& peer, const frames::Fwd& envelope, Outcome& out);
  void on_peer_frame(Peer& peer, const frames::Fack& ack, Outcome& out);
  void on_peer_frame(Peer& peer, const frames::RFetch& fetch, Outcome& out);
  void on_peer_frame(Peer& peer, const frames::RFetched& fetched, Outcome& out);
  // A message from `origin` for a local user or group: stored (every member of a group), or
  // the error it is refused with.
  std::string take_message(const std::string& origin, frames::MessageKind kind,
                           const std::string& to, const std::string& from, const std::string& text,
                           const std::string& time, Outcome& out);
  // Routing (core/realm_routing.cpp).
  void take_envelope(const frames::Fwd& envelope, Outcome& out);
  bool first_time(const frames::Fwd& envelope, Outcome& out);
  void refuse_envelope(const frames::Fwd& envelope, std::string_view error, Outcome& out);
  void answer_arrived(const frames::Fwd& answer, Outcome& out);
  void routes_changed(Outcome& out);
  bool relay_queue_full(const std::string& destination);
  void learn_keys(const Peer& peer, const frames::Route& announcement, Outcome& out);
  bool authentic(const frames::Fwd& envelope) const;
  bool knows_key_of(const std::string& origin) const;
  void take_signed(const frames::Fwd& envelope, std::string_view came, Outcome& out);
  void await_origin_key(const frames::Fwd& envelope, std::string_view via, Outcome& out);
  void release_awaiting_key(Outcome& out);
  EpochDedup& remember_epoch(const std::string& origin, std::uint64_t epoch, Outcome& out);
  void settle(Peer& peer, std::map<std::uint64_t, store::OutboxRecord>::iterator entry, bool ok,
              const std::string& error, Outcome& out);
  void pump(Peer& peer, Outcome& out);

  RealmSettings settings_;
  Environment env_;
  std::unique_ptr<RealmState> state_;
  // handle()'s scratch, kept from request to request so that their vectors keep their
  // capacity: parsing a request allocates nothing (one thread; handle() never nests).
  protocol::ParsedLine parsed_;
  std::vector<std::string_view> params_;
};

}  // namespace chat::core
