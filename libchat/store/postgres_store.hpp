#pragma once
#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "store/store.hpp"

namespace chat::store {

// The realm's durable store on PostgreSQL (config `store: {url: ...}`; docs/operations.md).
// Same contract as SqliteStore. Every table has a `realm` column, so several realms may share
// one database; the tables live in the schema `realmchat`, created and upgraded by the first
// realmd that connects (versioned in realmchat.schema_version, under an advisory lock).
//
// One transaction per commit(), sent in libpq's pipeline mode (no round trip per statement),
// with the batch's messages, outbox entries and dedup marks as multi-row statements. After
// fence(epoch) each transaction first checks the realm's lease epoch (realmchat.fence), so a
// process that lost the lease can never commit again.
//
// A connection that breaks is reopened by the next commit(). If it broke after COMMIT was sent,
// the outcome is unknown: each transaction also writes a marker, and the retry (CommitQueue
// retries a failed batch first, with what was queued since behind it) skips the part the marker
// shows was committed, so nothing is applied twice.
class PostgresStore final : public Store {
 public:
  // Connects and creates or upgrades the schema; throws StoreError. `timeout` bounds a connect
  // and a TCP write (see pg::Connection).
  PostgresStore(std::string url, std::string realm,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  Snapshot load_streaming(const UnreadSink& unread) override;
  void commit(std::span<const Mutation> batch) override;
  std::string signing_key(const std::function<std::string()>& make) override;
  void fence(std::uint64_t epoch) override;

  // Creates or upgrades the schema on the database at `url` (the constructor does it too).
  static void prepare_schema(const std::string& url, std::chrono::milliseconds timeout);

 private:
  // A reader on a connection of its own: pages of a conversation through its index.
  std::unique_ptr<HistoryReader> open_reader(const HistoryReaderOptions& options) override;
  struct Impl;  // keeps libpq-fe.h out of this header
  std::unique_ptr<Impl> impl_;
};

}  // namespace chat::store
