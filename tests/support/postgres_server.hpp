#pragma once
#include <filesystem>
#include <string>

#include "support/temp_dir.hpp"

namespace test_support {

// A private PostgreSQL 15 for tests (docs/operations.md "PostgreSQL"): initdb and pg_ctl in a
// temp dir, as the `postgres` user when the tests run as root (initdb refuses root), listening
// only on a Unix socket in that dir (no TCP), with one database `realmchat`. Stopped and
// removed by the destructor. Throws with PostgreSQL's log when it cannot start: a machine
// without postgresql-15 fails the tests loudly rather than skipping them.
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A libpq URI for `database` on this server.
  std::string url(const std::string& database = "realmchat") const;
  // pg_ctl stop -m fast / start / restart: the database going away under a running realmd.
  void stop();
  void start();
  void restart();
  // Runs `sql` with psql on the realmchat database; its unaligned output, rows one per line.
  std::string query(const std::string& sql) const;

 private:
  std::string run(const std::string& command) const;  // as the server's user; throws on failure

  TempDir dir_;
  std::filesystem::path data_;
  bool running_ = false;
};

// One server for a whole test binary, started on first use and stopped at exit.
PostgresServer& shared_postgres();

}  // namespace test_support
