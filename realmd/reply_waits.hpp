#pragma once
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/outcome.hpp"
#include "core/realm.hpp"

namespace realmd {

class Channel;
class Metrics;

// Replies that wait for a peer realm (core::Wait): each keeps its place in its connection's
// reply order and is filled by the Completion with its waiter id, or, when its timeout passes
// first, by the Completion of the Outcome that `on_timeout` makes (Realm::wait_timed_out,
// carried out like every Outcome).
class ReplyWaits {
 public:
  using TimeoutHandler = std::function<void(std::uint64_t waiter)>;

  // Completed replies count as requests of their command in `metrics`.
  ReplyWaits(asio::io_context& io, chat::core::Realm& realm, Metrics& metrics,
             TimeoutHandler on_timeout);

  // `command`: the request's, for Metrics::request().
  void add(const chat::core::Wait& wait, std::weak_ptr<Channel> channel, std::uint64_t place,
           std::size_t command);
  // Fills the places of these completions; their replies wait for commit `seq`.
  void complete(std::vector<chat::core::Completion>& completions, std::uint64_t seq);
  std::size_t size() const { return pending_.size(); }
  // Times every wait out now (graceful stop: nothing is left hanging).
  void expire_all();

 private:
  struct Pending {
    std::weak_ptr<Channel> channel;
    std::uint64_t place = 0;
    std::size_t command = 0;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void timed_out(std::uint64_t waiter);

  asio::io_context& io_;
  chat::core::Realm& realm_;
  Metrics& metrics_;
  TimeoutHandler on_timeout_;
  std::unordered_map<std::uint64_t, Pending> pending_;
};

}  // namespace realmd
