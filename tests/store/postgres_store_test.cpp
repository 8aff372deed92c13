// What PostgresStore adds to the Store contract (store_contract_test.cpp runs that): the
// versioned schema, realms sharing one database, the lease, fencing, and reconnecting.
#include "store/postgres_store.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "store/postgres_lease.hpp"
#include "support/poll.hpp"
#include "support/postgres_server.hpp"

using test_support::shared_postgres;

namespace chat::store {
namespace {

MessageRecord message(std::uint64_t id, const std::string& recipient) {
  return {id,   recipient, "messi", "alpha", "", "hi " + std::to_string(id), "2026-12-01T08:00:00Z",
          false};
}

HistoryRecord history(std::uint64_t id, const std::string& text) {
  return {id,   "u:messi:ronaldo",      "ronaldo", "alpha", "messi", "",
          text, "2026-12-01T08:00:00Z", false};
}

std::vector<std::uint64_t> unread_ids(const Snapshot& snapshot) {
  std::vector<std::uint64_t> ids;
  for (const MessageRecord& m : snapshot.unread) ids.push_back(m.id);
  return ids;
}

void commit(Store& store, const std::vector<Mutation>& batch) {
  store.commit(batch);
}

HistoryQuery newest(const std::string& conversation, std::size_t limit) {
  HistoryQuery query;
  query.conversation = conversation;
  query.limit = limit;
  return query;
}

std::vector<std::uint64_t> page_ids(const HistoryPage& page) {
  std::vector<std::uint64_t> ids;
  for (const HistoryRecord& m : page.messages) ids.push_back(m.id);
  return ids;
}

// history's indexes with the types of their keys, by name: "name(type,type) ...".
std::string history_indexes(const test_support::PostgresServer& server) {
  return server.query(
      "SELECT string_agg(name || '(' || types || ')', ' ' ORDER BY name) FROM (SELECT "
      "c.relname AS name, (SELECT string_agg(format_type(a.atttypid, NULL), ',' ORDER BY "
      "a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid) AS types FROM pg_index i JOIN "
      "pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'realmchat.history'::regclass) x");
}

}  // namespace

TEST_CASE("PostgresStore creates schema version 5 and refuses a newer one") {
  auto& server = shared_postgres();
  PostgresStore store(server.url(), "schema_check");
  CHECK(server.query("SELECT version FROM realmchat.schema_version") == "5");
  CHECK(server.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'realmchat'") == "15");
  // Version 2: the outbox keeps a routed message's envelope.
  CHECK(server.query("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                     "'realmchat' AND table_name = 'outbox' AND column_name = 'route'") == "1");
  // Version 3: the inbox has its primary key as its only index.
  CHECK(server.query("SELECT count(*) FROM pg_indexes WHERE schemaname = 'realmchat' AND "
                     "tablename = 'messages'") == "1");

  // Version 4: the realm's identity.
  CHECK(server.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'realmchat' AND "
                     "tablename IN ('signing_keys', 'pins')") == "2");

  // Version 5: history's conversation index is keyed by integers (a hash and the id).
  CHECK(history_indexes(server) ==
        "history_by_conversation_key(bigint,bigint) history_pkey(text,bigint)");

  server.query("UPDATE realmchat.schema_version SET version = 6");
  CHECK_THROWS_WITH_AS(PostgresStore(server.url(), "schema_check"),
                       "the database has realmchat schema version 6, newer than this program's 5",
                       StoreError);
  server.query("UPDATE realmchat.schema_version SET version = 5");
}

TEST_CASE("PostgresStore upgrades a version 3 database (identity in files) in place") {
  auto& server = shared_postgres();
  {
    PostgresStore store(server.url(), "upgrade_4");
    commit(store, {PutSession{{"ab12", "messi"}}});
  }
  server.query(
      "DROP TABLE realmchat.signing_keys; DROP TABLE realmchat.pins; "
      "UPDATE realmchat.schema_version SET version = 3");

  PostgresStore store(server.url(), "upgrade_4");
  CHECK(server.query("SELECT version FROM realmchat.schema_version") == "5");
  CHECK(store.load().sessions == std::vector<SessionRecord>{{"ab12", "messi"}});
  CHECK(store.signing_key([] { return std::string("made"); }) == "made");
  commit(store, {PutPin{{"beta", std::string(64, 'b')}}});
  CHECK(store.load().pins == std::vector<PinRecord>{{"beta", std::string(64, 'b')}});
}

TEST_CASE("PostgresStore upgrades a version 4 database (text conversation index) in place") {
  auto& server = shared_postgres();
  {
    PostgresStore store(server.url(), "upgrade_5");
    commit(store, {PutHistory{history(1, "before")}, PutHistory{history(2, "before")}});
  }
  // Version 4's conversation index, on the texts.
  server.query(
      "DROP INDEX realmchat.history_by_conversation_key; "
      "DROP FUNCTION realmchat.conversation_key(text, text); "
      "CREATE INDEX history_by_conversation ON realmchat.history(realm, conversation, id); "
      "UPDATE realmchat.schema_version SET version = 4");
  REQUIRE(history_indexes(server) ==
          "history_by_conversation(text,text,bigint) history_pkey(text,bigint)");

  PostgresStore store(server.url(), "upgrade_5");
  CHECK(server.query("SELECT version FROM realmchat.schema_version") == "5");
  CHECK(history_indexes(server) ==
        "history_by_conversation_key(bigint,bigint) history_pkey(text,bigint)");
  // The rows from before the upgrade are in the new index, beside those written after it.
  commit(store, {PutHistory{history(3, "after")}, TrimConversation{"u:messi:ronaldo", 2}});
  CHECK(page_ids(store.open_history_reader()->read_history(newest("u:messi:ronaldo", 50))) ==
        std::vector<std::uint64_t>{2, 3});
}

TEST_CASE("history pages and trims reach a conversation through its integer-keyed index") {
  auto& server = shared_postgres();
  PostgresStore store(server.url(), "key_index");
  // 100 conversations of 50 messages: enough rows that the planner uses an index at all.
  std::vector<Mutation> batch;
  for (std::uint64_t id = 1; id <= 5000; ++id) {
    HistoryRecord record = history(id, "hi");
    if (id % 100 != 0) record.conversation = "u:messi:player" + std::to_string(id % 100);
    batch.emplace_back(PutHistory{record});
  }
  commit(store, batch);
  server.query("ANALYZE realmchat.history");
  const auto scans = [&] {
    return std::stoll(
        server.query("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = "
                     "'history_by_conversation_key'"));
  };
  const long long before = scans();
  auto reader = store.open_history_reader();
  CHECK(page_ids(reader->read_history(newest("u:messi:ronaldo", 2))) ==
        std::vector<std::uint64_t>{4900, 5000});
  // A backend's statistics reach other sessions when it goes idle, but at most once a second:
  // one that flushed less than a second before flushes again only after 10 s idle (PostgreSQL
  // 15's PGSTAT_IDLE_INTERVAL), so the deadline is well past that (seen on a busy machine).
  constexpr auto stats_deadline = std::chrono::seconds(30);
  CHECK(test_support::eventually([&] { return scans() > before; }, stats_deadline));
  const long long after_read = scans();
  commit(store, {TrimConversation{"u:messi:ronaldo", 10}});
  CHECK(test_support::eventually([&] { return scans() > after_read; }, stats_deadline));
  CHECK(reader->read_history(newest("u:messi:ronaldo", 50)).messages.size() == 10);
  CHECK(reader->read_history(newest("u:messi:player7", 50)).messages.size() == 50);
}

TEST_CASE("realms sharing one database see only their own rows") {
  auto& server = shared_postgres();
  PostgresStore alpha(server.url(), "share_alpha");
  PostgresStore beta(server.url(), "share_beta");
  commit(alpha, {PutUser{{"messi", "h", "Lionel_Messi", "Argentina"}}, PutGroup{"kominfo"},
                 PutMessage{message(1, "messi")}, PutSession{{"aa", "messi"}}});
  // The same keys in another realm do not collide.
  commit(beta, {PutUser{{"messi", "h2", "Other_Messi", "Spanyol"}}, PutGroup{"kominfo"},
                PutMessage{message(1, "messi")}, PutMessage{message(2, "messi")}});
  const Snapshot a = alpha.load();
  const Snapshot b = beta.load();
  REQUIRE(a.users.size() == 1);
  CHECK(a.users[0].nama == "Lionel_Messi");
  CHECK(unread_ids(a) == std::vector<std::uint64_t>{1});
  CHECK(a.sessions.size() == 1);
  REQUIRE(b.users.size() == 1);
  CHECK(b.users[0].nama == "Other_Messi");
  CHECK(unread_ids(b) == std::vector<std::uint64_t>{1, 2});
  CHECK(b.sessions.empty());
  CHECK(b.max_id == 2);
}

TEST_CASE("a large batch commits in one transaction (statements sent in chunks)") {
  PostgresStore store(shared_postgres().url(), "large_batch");
  std::vector<Mutation> batch;
  for (std::uint64_t id = 1; id <= 3000; ++id) {
    // Alternating kinds: one statement each, far more than one chunk of the pipeline.
    batch.emplace_back(PutMessage{message(id, "messi")});
    batch.emplace_back(PutSession{{std::to_string(id) + "s", "messi"}});
  }
  commit(store, batch);
  const Snapshot snapshot = store.load();
  CHECK(snapshot.unread.size() == 3000);
  CHECK(snapshot.sessions.size() == 3000);
  CHECK(snapshot.max_id == 3000);
  // Text that needs escaping in an array literal comes back as it went in.
  MessageRecord odd = message(3001, "messi");
  odd.text = std::string(R"(quote " backslash \ brace {} comma , "NULL" é \t \N)") +
             " tab\there cr\r vt\v ff\f bs\b ctl\x01 end";
  commit(store, {PutMessage{odd}});
  CHECK(store.load().unread.back().text == odd.text);  // through COPY's escapes too
}

TEST_CASE("a send's message and history rows go as one statement per table") {
  auto& server = shared_postgres();
  PostgresStore store(server.url(), "one_statement");
  // As realmd queues sends: each message's inbox entry, then its history row.
  std::vector<Mutation> batch;
  for (std::uint64_t id = 1; id <= 50; ++id) {
    batch.emplace_back(PutMessage{message(id, "messi")});
    batch.emplace_back(PutHistory{history(id, "hi")});
    batch.emplace_back(IndexHistory{id});
  }
  commit(store, batch);
  // Rows of one statement share its command id (cmin) in the transaction.
  CHECK(server.query("SELECT count(DISTINCT cmin::text) FROM realmchat.messages WHERE realm = "
                     "'one_statement'") == "1");
  CHECK(server.query("SELECT count(DISTINCT cmin::text) || '/' || count(*) FROM "
                     "realmchat.history WHERE realm = 'one_statement'") == "1/50");
  // A failure in such a run still names its mutation: the second history row of id 51.
  const HistoryRecord again = history(51, "again");
  try {
    store.commit(std::vector<Mutation>{PutMessage{message(51, "messi")}, PutHistory{again},
                                       PutMessage{message(52, "messi")}, PutHistory{again}});
    FAIL("a duplicate history id was stored");
  } catch (const MutationRejected& e) {
    CHECK(e.index == 3);
  }
  CHECK(store.load().unread.size() == 50);
}

TEST_CASE("a commit starts with one statement for the fence and the batch's meta rows") {
  auto& server = shared_postgres();
  const std::string url = server.url();
  PostgresLease lease(url, "start_batch", "one", std::chrono::milliseconds(5000));
  const auto epoch = lease.try_acquire();
  REQUIRE(epoch.has_value());
  PostgresStore store(url, "start_batch");
  store.fence(*epoch);
  commit(store, {PutMessage{message(7, "messi")}, PutHistory{history(7, "hi")}});
  // The marker and the highest id: one statement (one cmin), before the batch's rows.
  CHECK(server.query("SELECT count(*) || ' rows, ' || count(DISTINCT cmin::text) || ' cmin' FROM "
                     "realmchat.meta WHERE realm = 'start_batch'") == "2 rows, 1 cmin");
  CHECK(server.query("SELECT (SELECT max(cmin::text::int) FROM realmchat.meta WHERE realm = "
                     "'start_batch') < (SELECT min(cmin::text::int) FROM realmchat.messages "
                     "WHERE realm = 'start_batch')") == "t");
  // A batch that stores no id leaves max_id as it was.
  commit(store, {MarkFetched{{7}}});
  CHECK(server.query("SELECT value FROM realmchat.meta WHERE realm = 'start_batch' AND key = "
                     "'max_id'") == "7");
  CHECK(store.load().max_id == 7);
}

TEST_CASE("the lease: one holder at a time, taken over after expiry with a higher epoch") {
  const std::string url = shared_postgres().url();
  PostgresLease first(url, "lease_realm", "first", std::chrono::milliseconds(300));
  PostgresLease second(url, "lease_realm", "second", std::chrono::milliseconds(300));
  const auto epoch = first.try_acquire();
  REQUIRE(epoch.has_value());
  CHECK_FALSE(second.try_acquire().has_value());
  CHECK(first.renew(*epoch));

  std::optional<std::uint64_t> taken;
  CHECK(test_support::eventually([&] { return (taken = second.try_acquire()).has_value(); }));
  CHECK(*taken == *epoch + 1);
  CHECK_FALSE(first.renew(*epoch));  // lost: the epoch moved on
  CHECK(second.renew(*taken));
  second.release(*taken);  // a clean stop hands it over at once
  CHECK(first.try_acquire() == *taken + 1);
}

TEST_CASE("fencing: a commit under an old epoch fails and applies nothing") {
  const std::string url = shared_postgres().url();
  PostgresLease old_lease(url, "fenced_realm", "old", std::chrono::milliseconds(200));
  PostgresLease new_lease(url, "fenced_realm", "new", std::chrono::milliseconds(200));
  PostgresStore old_holder(url, "fenced_realm");
  const auto old_epoch = old_lease.try_acquire();
  REQUIRE(old_epoch.has_value());
  old_holder.fence(*old_epoch);
  commit(old_holder, {PutMessage{message(1, "messi")}});

  std::optional<std::uint64_t> new_epoch;
  REQUIRE(
      test_support::eventually([&] { return (new_epoch = new_lease.try_acquire()).has_value(); }));
  PostgresStore new_holder(url, "fenced_realm");
  new_holder.fence(*new_epoch);
  CHECK(unread_ids(new_holder.load()) == std::vector<std::uint64_t>{1});
  commit(new_holder, {PutMessage{message(2, "messi")}});
  // The fence is the first statement of a commit: the old holder's row of an id the new holder
  // stored meanwhile fails on the fence, not as a duplicate (which would blame the mutation).
  CHECK_THROWS_AS(commit(old_holder, {PutMessage{message(2, "messi")}}), FencedError);
  CHECK_THROWS_AS(commit(old_holder, {PutMessage{message(3, "messi")}}), FencedError);
  CHECK(unread_ids(new_holder.load()) == std::vector<std::uint64_t>{1, 2});
}

TEST_CASE("a commit after the connection was cut reconnects; a failed batch is retried whole") {
  auto& server = shared_postgres();
  PostgresStore store(server.url(), "reconnect_realm");
  commit(store, {PutMessage{message(1, "messi")}});
  server.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'realmd' AND pid <> pg_backend_pid()");
  // The first attempt may find the connection dead; the retry (with more behind it, as the
  // commit queue does) reconnects.
  const std::vector<Mutation> first = {PutMessage{message(2, "messi")}};
  const std::vector<Mutation> retried = {PutMessage{message(2, "messi")},
                                         PutMessage{message(3, "messi")}};
  try {
    store.commit(first);
    commit(store, {PutMessage{message(3, "messi")}});
  } catch (const StoreError&) {
    store.commit(retried);
  }
  CHECK(unread_ids(store.load()) == std::vector<std::uint64_t>{1, 2, 3});
}

// A measurement, not a check: the numbers go to docs/performance.md and docs/architecture.md.
// The test server runs with fsync=off; a commit still waits for the server's WAL write.
TEST_CASE("PostgresStore commit and load speed (pipeline, multi-row)") {
  constexpr int batch_count = 100;
  constexpr int batch_size = 1000;
  PostgresStore store(shared_postgres().url(), "speed");
  std::uint64_t next_id = 1;
  std::vector<std::vector<Mutation>> batches(batch_count);
  for (auto& batch : batches) {
    for (int i = 0; i < batch_size; ++i) batch.emplace_back(PutMessage{message(next_id++, "bob")});
  }
  const auto commit_start = std::chrono::steady_clock::now();
  for (const auto& batch : batches) store.commit(batch);
  const std::chrono::duration<double> committing = std::chrono::steady_clock::now() - commit_start;
  // Small batches: the cost of one transaction, as under light load.
  const auto single_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) commit(store, {PutMessage{message(next_id++, "bob")}});
  const std::chrono::duration<double> singles = std::chrono::steady_clock::now() - single_start;

  const auto load_start = std::chrono::steady_clock::now();
  const Snapshot snapshot = store.load();
  const std::chrono::duration<double> loading = std::chrono::steady_clock::now() - load_start;
  CHECK(snapshot.unread.size() == batch_count * batch_size + 200);
  std::printf(
      "postgres store speed: %d batches x %d PutMessage in %.3f s (%.1f ms/batch, %.0f "
      "messages/s); 1-message commits %.2f ms each; load of %zu unread in %.3f s\n",
      batch_count, batch_size, committing.count(), committing.count() * 1000 / batch_count,
      batch_count * batch_size / committing.count(), singles.count() * 1000 / 200,
      snapshot.unread.size(), loading.count());
}

}  // namespace chat::store
