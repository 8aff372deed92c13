#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "core/realm.hpp"
#include "frames/link_frames.hpp"

// Drives a pure core::Realm the way realmd does, with a fake environment (tokens from a
// counter, a clock the driver advances, password jobs run inline with a fake hash) and checks
// what realmd relies on after every step:
//   - every reply is compact JSON (fuzz::check_reply), including replies that complete waits;
//   - a non-blank request line gets exactly one reply (now, or later through its Wait), a
//     blank one none; a password job comes without a reply and resume() does not ask again;
//   - a completion answers a waiter that is waiting; a timed-out wait gets its completion;
//   - every frame for a peer encodes to a line that decodes back to the same frame.
// Written replies are reported with reply_written(), except every fifth, which is "lost".
namespace fuzz {

class RealmDriver {
 public:
  // Realm "alpha": admin messi; peers beta (autoconnect) and gamma (not); small limits so
  // that the fuzzer reaches them (64-byte messages, 4 queued per peer, 128-byte inboxes).
  RealmDriver();

  // Registers messi, henderson and lineker (tokens 1-3, see token()), group kominfo with both
  // messi and henderson, and a message or two, each on its own connection.
  void seed_world();

  // The n-th token handed out: 00000000-0000-4000-8000-00000000000n.
  static std::string token(int n);

  // One request line on the client connection, as realmd's client session handles it.
  void client_line(std::string_view line);
  // The client's line was over the limit: realmd answers and closes the connection.
  void line_too_long();

  // Whether realmd would bring a link from `peer` up (Realm::accepts_link_from).
  bool accepts_link_from(std::string_view peer) const;
  void link_up(std::string_view peer);
  void link_down(std::string_view peer);
  void peer_frame(std::string_view peer, const chat::frames::PeerFrame& frame);
  // Every wait's timer fires.
  void expire_waits();

  const chat::core::Realm& realm() const { return realm_; }
  // The rid of the last fetch frame the realm sent to `peer` (0: none).
  std::uint64_t last_fetch_rid(std::string_view peer) const;

  static constexpr std::size_t max_message_bytes = 64;

 private:
  void run_line(chat::core::Connection& conn, std::string_view line);
  chat::core::PasswordResult run_password_job(const chat::core::PasswordJob& job) const;
  void carry_out(const chat::core::Outcome& out);
  void deliver(const std::string& reply, const std::vector<std::uint64_t>& ids);
  void check_frame(const chat::core::OutgoingFrame& frame) const;
  void reconnect();

  int tokens_ = 0;
  std::chrono::steady_clock::time_point now_{};
  chat::core::Realm realm_;
  std::uint64_t next_connection_id_ = 1;
  chat::core::Connection client_;
  std::set<std::uint64_t> waiting_;  // waiters whose reply has not come yet
  std::uint64_t replies_ = 0;
  std::map<std::string, std::uint64_t, std::less<>> last_fetch_rid_;
};

}  // namespace fuzz
