#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "store/lease.hpp"

namespace chat::store {

// A realm's lease in the realmchat.lease table of a PostgreSQL store, on a connection of its
// own (renewals never wait behind a commit). Expiry is the database's clock: now() + duration
// at each take-over or renewal, so the processes' clocks need not agree.
class PostgresLease final : public Lease {
 public:
  // `holder` names this process in the table (host and pid: for operators reading it).
  // Creates the schema when missing. Throws StoreError.
  PostgresLease(std::string url, std::string realm, std::string holder,
                std::chrono::milliseconds duration);
  ~PostgresLease() override;
  PostgresLease(const PostgresLease&) = delete;
  PostgresLease& operator=(const PostgresLease&) = delete;

  std::optional<std::uint64_t> try_acquire() override;
  bool renew(std::uint64_t epoch) override;
  void release(std::uint64_t epoch) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chat::store
