// The store failing under a running realm: a full disk, made by lowering realmd's file size
// limit (RLIMIT_FSIZE, with SIGXFSZ ignored) below its SQLite WAL's size, so every commit
// fails; then raised again. (Making the data dir read-only would not do: SQLite keeps its
// files open, and permissions are checked at open only; root ignores them anyway.)
// realmd must not crash, must not say OK for a change it did not store, must answer the
// waiting requests with a clear error, and must carry on by itself once the disk works.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support/delivery_checks.hpp"
#include "support/line_client.hpp"
#include "support/poll.hpp"
#include "support/realm_cluster.hpp"

using namespace test_support;
using namespace std::chrono_literals;

namespace {

const std::string store_failed =
    R"({"status":"ERROR","message":"Gagal menyimpan, coba lagi nanti"})";
const std::string message_sent = R"({"status":"OK","message":"Message sent"})";

// Sets the soft file size limit of process `pid` (the hard limit stays).
void limit_file_size(pid_t pid, rlim_t bytes) {
  rlimit limit{};
  REQUIRE(::prlimit(pid, RLIMIT_FSIZE, nullptr, &limit) == 0);
  limit.rlim_cur = std::min(bytes, limit.rlim_max);
  REQUIRE(::prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) == 0);
}

int occurrences(const std::string& text, const std::string& what) {
  int count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// Pipelines "send henderson <prefix><i>" for i < count; returns the replies.
std::vector<std::string> send(LineClient& client, const std::string& prefix, int count,
                              std::vector<std::string>& texts) {
  std::string lines;
  for (int i = 0; i < count; ++i) {
    texts.push_back(prefix + std::to_string(i));
    lines += "send henderson " + texts.back() + "\n";
  }
  client.send_raw(lines);
  std::vector<std::string> replies;
  for (int i = 0; i < count; ++i) replies.push_back(client.expect_reply(30s));
  return replies;
}

}  // namespace

TEST_CASE("a full disk: error replies after 5 s, no crash, no false OK; service resumes") {
  RealmCluster realms({{"alpha", users_yaml({"messi", "henderson"})}});
  RealmdProcess& alpha = realms["alpha"];
  alpha.start();
  auto messi = login(alpha, "messi");
  std::vector<std::string> texts;
  std::vector<bool> accepted;
  const auto record = [&](const std::vector<std::string>& replies, const std::string& expected) {
    int matching = 0;
    for (const std::string& reply : replies) {
      accepted.push_back(is_ok(reply));
      if (reply == expected) ++matching;
    }
    return matching;
  };

  constexpr int batch = 200;
  CHECK(record(send(*messi, "before", batch, texts), message_sent) == batch);

  // The disk is full: the WAL cannot grow (the log, smaller, still can).
  const std::filesystem::path wal = realms.dir() / "alpha" / "data" / "realm.db-wal";
  const auto wal_bytes = std::filesystem::file_size(wal);
  REQUIRE(wal_bytes > alpha.log().size() + 64 * 1024);
  limit_file_size(alpha.pid(), wal_bytes);
  const auto full_at = std::chrono::steady_clock::now();
  const std::vector<std::string> during = send(*messi, "during", batch, texts);
  const std::chrono::duration<double> answered = std::chrono::steady_clock::now() - full_at;
  MESSAGE("requests on a full disk answered after " << answered.count() << " s");
  CHECK(record(during, store_failed) == batch);
  CHECK(answered > 4.5s);  // they waited for the retries first (CommitQueue::stall_after)
  // Alive; a new request is refused at once, without being carried out.
  CHECK(messi->request("send henderson refused") == store_failed);
  texts.push_back("refused");
  accepted.push_back(false);

  // The disk has room again: the queued changes are committed, service goes on.
  limit_file_size(alpha.pid(), RLIM_INFINITY);
  REQUIRE(eventually(
      [&] { return messi->request("info henderson").starts_with(R"({"status":"OK")"); }));
  CHECK(record(send(*messi, "after", batch, texts), message_sent) == batch);
  const std::string log = alpha.log();
  const auto failure = log.find("store commit of");
  MESSAGE("realmd logged: " << log.substr(failure, log.find('\n', failure) - failure));
  CHECK(occurrences(log, "store commit of") == 1);
  CHECK(occurrences(log, "store failing for 5 s") == 1);
  CHECK(occurrences(log, "store commits again") == 1);

  // A crash now loses nothing that was acknowledged.
  alpha.kill9();
  alpha.start();
  std::map<std::string, int> seen;
  drain_messages(*login(alpha, "henderson"), "inbox", seen);
  const Tally t = tally(texts, accepted, seen);
  CHECK(t.accepted == 2 * batch);
  CHECK(t.delivered == 2 * batch);
  CHECK(t.lost == 0);
  CHECK(t.duplicated == 0);
  CHECK_FALSE(seen.contains("refused"));
  int refused_but_stored = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (!accepted[i] && seen.contains(texts[i])) ++refused_but_stored;
  }
  // For a change made before the stall, an error says "not known to be stored": it was still
  // queued, and stored when the disk came back. All 200 "during" were carried out before the
  // stall (pipelined in one write, read at once; the stall begins 5 s later); "refused", made
  // during the stall, was not.
  MESSAGE(refused_but_stored << " of " << batch + 1
                             << " requests answered with the error were stored after recovery");
  CHECK(refused_but_stored == batch);
}
