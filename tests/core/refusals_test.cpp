// The receiver's record of refused realm messages (docs/protocol.md §2 "Refusals"): a
// retransmission of a refused `msg` is refused again with the same error, also after a
// restart from the store (MemoryStore and SqliteStore), and the record stays bounded.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/realm.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "support/temp_dir.hpp"
#include "test_environment.hpp"

using namespace chat;
using core::Connection;
using test_support::TempDir;

namespace {

struct MemoryBackend {
  store::MemoryStore store;

  store::Store& current() { return store; }
  store::Store& reopen() { return store; }
};

struct SqliteBackend {
  TempDir dir;
  std::unique_ptr<store::SqliteStore> store =
      std::make_unique<store::SqliteStore>(dir.path(), false);

  store::Store& current() { return *store; }
  store::Store& reopen() {
    store.reset();
    store = std::make_unique<store::SqliteStore>(dir.path(), false);
    return *store;
  }
};

// Realm beta with its store; alpha and gamma are its peers. Every Outcome is committed.
template <typename Backend>
class Receiver {
 public:
  explicit Receiver(std::size_t link_window = 1024) : link_window_(link_window) { start(); }

  // A restart: a new Realm loaded from what the store kept.
  void restart() {
    backend_.reopen();
    start();
  }

  core::Outcome receive(std::string_view origin, frames::Msg message) {
    core::Outcome out = realm_->peer_frame(origin, message);
    commit(out);
    return out;
  }

  std::string run(Connection& conn, std::string_view line) {
    core::Outcome out = realm_->handle(conn, line);
    if (out.password) {
      commit(out);
      out = realm_->resume(conn, {true, "fake$" + out.password->password});
    }
    commit(out);
    return out.reply;
  }

  store::Snapshot stored() { return backend_.current().load(); }

 private:
  void start() {
    core::RealmSettings s;
    s.name = "beta";
    s.peers = {{"alpha", "127.0.0.1", 9889, true}, {"gamma", "127.0.0.1", 9891, true}};
    s.link_window = link_window_;
    realm_ = std::make_unique<core::Realm>(std::move(s), core::testing::test_environment(tokens_));
    realm_->load(backend_.current().load());
  }
  void commit(const core::Outcome& out) { backend_.current().commit(out.mutations); }

  std::size_t link_window_;
  int tokens_ = 0;
  Backend backend_;
  std::unique_ptr<core::Realm> realm_;
};

frames::Msg to_user(std::uint64_t id, std::string user) {
  return {id,
          1,
          frames::MessageKind::user,
          "messi",
          std::move(user),
          "pesan " + std::to_string(id),
          "2026-11-26T22:33:16Z"};
}

frames::Msg to_group(std::uint64_t id, std::string group) {
  return {id,
          1,
          frames::MessageKind::group,
          "messi",
          std::move(group),
          "pesan " + std::to_string(id),
          "2026-11-26T22:33:16Z"};
}

// The single frame of an Outcome, which must be an ack.
frames::Ack ack_of(const core::Outcome& out) {
  REQUIRE(out.frames.size() == 1);
  return std::get<frames::Ack>(out.frames[0].frame);
}

void check_ack(const core::Outcome& out, std::uint64_t id, bool ok, const std::string& error) {
  const frames::Ack ack = ack_of(out);
  CHECK(ack.id == id);
  CHECK(ack.ok == ok);
  // An ok ack carries no error; a refusal carries its error.
  CHECK(ack.error == (ok ? std::nullopt : std::optional<std::string>(error)));
}

std::vector<std::uint64_t> refused_ids(const store::Snapshot& snapshot, const std::string& origin) {
  std::vector<std::uint64_t> ids;
  for (const auto& refusal : snapshot.refused) {
    if (refusal.origin == origin) ids.push_back(refusal.id);
  }
  return ids;
}

std::vector<std::uint64_t> ids_from(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> ids;
  for (std::uint64_t id = first; id <= last; ++id) ids.push_back(id);
  return ids;
}

}  // namespace

TEST_CASE_TEMPLATE("a refused msg retransmitted after a restart is refused again", Backend,
                   MemoryBackend, SqliteBackend) {
  Receiver<Backend> beta;
  Connection jokowi{1};
  beta.run(jokowi, "register jokowi 123 joko_widodo indonesia");

  check_ack(beta.receive("alpha", to_user(7, "susilo")), 7, false, "User tidak ditemukan");
  check_ack(beta.receive("alpha", to_group(9, "kominfo")), 9, false, "Group tidak ditemukan");
  check_ack(beta.receive("alpha", to_user(12, "jokowi")), 12, true, "");

  beta.restart();
  // What refused them is gone now, yet the retransmissions get the first answer again.
  Connection susilo{2};
  beta.run(susilo, "register susilo 789 Susilo_Bambang Indonesia");
  CHECK(beta.run(jokowi, "register jokowi 123 joko_widodo indonesia") ==
        R"({"status":"ERROR","message":"User sudah ada"})");
  Connection again{3};
  beta.run(again, "auth jokowi 123");
  CHECK(beta.run(again, "addgroup kominfo") ==
        R"({"status":"OK","message":"Add group successful"})");

  core::Outcome user = beta.receive("alpha", to_user(7, "susilo"));
  check_ack(user, 7, false, "User tidak ditemukan");
  CHECK(user.mutations.empty());
  core::Outcome group = beta.receive("alpha", to_group(9, "kominfo"));
  check_ack(group, 9, false, "Group tidak ditemukan");
  CHECK(group.mutations.empty());
  core::Outcome delivered = beta.receive("alpha", to_user(12, "jokowi"));
  check_ack(delivered, 12, true, "");
  CHECK(delivered.mutations.empty());

  const store::Snapshot snapshot = beta.stored();
  REQUIRE(snapshot.unread.size() == 1);
  CHECK(snapshot.unread[0].recipient == "jokowi");
  CHECK(snapshot.unread[0].text == "pesan 12");
  REQUIRE(snapshot.refused.size() == 2);
  CHECK(snapshot.refused[0].origin == "alpha");
  CHECK(snapshot.refused[0].id == 7);
  CHECK(snapshot.refused[0].error == "User tidak ditemukan");
  CHECK(snapshot.refused[1].id == 9);
  CHECK(snapshot.refused[1].error == "Group tidak ditemukan");
  // A new id above the mark is handled afresh: susilo exists now.
  check_ack(beta.receive("alpha", to_user(13, "susilo")), 13, true, "");
}

TEST_CASE_TEMPLATE("only the newest 4 x link_window refusals per origin are kept", Backend,
                   MemoryBackend, SqliteBackend) {
  Receiver<Backend> beta(2);  // keeps 8 per origin
  check_ack(beta.receive("gamma", to_user(1, "susilo")), 1, false, "User tidak ditemukan");
  for (std::uint64_t id = 1; id <= 8; ++id) {
    core::Outcome out = beta.receive("alpha", to_user(id, "susilo"));
    for (const auto& mutation : out.mutations) {
      CHECK_FALSE(std::holds_alternative<store::DeleteRefused>(mutation));
    }
  }
  // The ninth refusal forgets the oldest in the same batch.
  core::Outcome ninth = beta.receive("alpha", to_user(9, "susilo"));
  REQUIRE(ninth.mutations.size() == 3);
  CHECK(std::get<store::PutRefused>(ninth.mutations[0]).refused.id == 9);
  const auto& pruned = std::get<store::DeleteRefused>(ninth.mutations[1]);
  CHECK(pruned.origin == "alpha");
  CHECK(pruned.up_to == 1);
  CHECK(std::get<store::PutSeen>(ninth.mutations[2]).seen.id == 9);
  beta.receive("alpha", to_user(10, "susilo"));
  CHECK(refused_ids(beta.stored(), "alpha") == ids_from(3, 10));

  // The bound holds across a restart: the loaded record keeps being pruned.
  beta.restart();
  beta.receive("alpha", to_user(11, "susilo"));
  const store::Snapshot snapshot = beta.stored();
  CHECK(refused_ids(snapshot, "alpha") == ids_from(4, 11));
  CHECK(refused_ids(snapshot, "gamma") == std::vector<std::uint64_t>{1});  // per origin
  check_ack(beta.receive("alpha", to_user(4, "susilo")), 4, false, "User tidak ditemukan");
  // Older than the bound, no sender keeping its window can retransmit it; it is forgotten.
  check_ack(beta.receive("alpha", to_user(3, "susilo")), 3, true, "");
  check_ack(beta.receive("gamma", to_user(1, "susilo")), 1, false, "User tidak ditemukan");
}
