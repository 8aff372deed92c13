#include "outcome_runner.hpp"

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "commit_queue.hpp"
#include "links/peer_links.hpp"
#include "reply_waits.hpp"

namespace realmd {

OutcomeRunner::OutcomeRunner(CommitQueue& commits, ReplyWaits& waits, PeerLinks& links, Push push)
    : commits_(commits), waits_(waits), links_(links), push_(std::move(push)) {}

std::uint64_t OutcomeRunner::run(chat::core::Outcome& outcome) {
  // A key pinned now is logged once its PutPin is committed.
  std::vector<std::string> pinned;
  for (const chat::store::Mutation& mutation : outcome.mutations) {
    if (const auto* pin = std::get_if<chat::store::PutPin>(&mutation)) {
      pinned.push_back(pin->pin.realm);
    }
  }
  const std::uint64_t seq = commits_.enqueue(std::move(outcome.mutations));
  outcome.mutations.clear();
  waits_.complete(outcome.completions, seq);
  outcome.completions.clear();
  // Frames wait for the same commit as a reply would: an ack never leaves before the message
  // it acknowledges is stored.
  for (const chat::core::OutgoingFrame& frame : outcome.frames) links_.send(frame, seq);
  outcome.frames.clear();
  for (const std::string& peer : outcome.dial) links_.dial(peer);
  outcome.dial.clear();
  // Like replies, pushes wait for the commit: nobody sees a message a crash could lose.
  for (chat::core::Push& push : outcome.pushes) push_(push, seq);
  outcome.pushes.clear();
  if (outcome.announce_routes) links_.announce_soon();
  outcome.announce_routes = false;
  for (const std::string& realm : pinned) links_.pinned(realm, seq);
  return seq;
}

}  // namespace realmd
