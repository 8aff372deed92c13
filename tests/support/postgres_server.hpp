#pragma once
#include <filesystem>
#include <string>

#include "support/temp_dir.hpp"

namespace test_support {

// A private PostgreSQL 15 for tests (docs/operations.md "PostgreSQL"): initdb and pg_ctl in a
// temp dir, as the `postgres` user when the tests run as root (initdb refuses root), listening
// on a Unix socket in that dir (TCP only where a test asks for it, in a network namespace of
// its own: Network), with one database `realmchat`. Stopped and
// removed by the destructor. Throws with PostgreSQL's log when it cannot start: a machine
// without postgresql-15 fails the tests loudly rather than skipping them.
class PostgresServer {
 public:
  // Where the server also listens on TCP (the network partition test): run inside a network
  // namespace, on the addresses given there, trusting clients from `trusted` (a CIDR).
  struct Network {
    std::string namespace_name;    // `ip netns exec` it there; empty: this process's namespace
    std::string listen_addresses;  // "10.1.1.1,10.1.2.1"; empty: no TCP
    std::string trusted;           // "10.0.0.0/8"
  };

  PostgresServer() : PostgresServer(Network{}) {}
  explicit PostgresServer(Network network);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A libpq URI for `database` on this server.
  std::string url(const std::string& database = "realmchat") const;
  // A libpq URI for `database` over TCP to `address` (one of Network::listen_addresses).
  std::string tcp_url(const std::string& address, const std::string& database = "realmchat") const;
  // pg_ctl stop -m fast / start / restart: the database going away under a running realmd.
  void stop();
  void start();
  void restart();
  // Runs `sql` with psql on the realmchat database; its unaligned output, rows one per line.
  std::string query(const std::string& sql) const;

 private:
  std::string run(const std::string& command) const;  // as the server's user; throws on failure

  Network network_;
  TempDir dir_;
  std::filesystem::path data_;
  bool running_ = false;
};

// One server for a whole test binary, started on first use and stopped at exit.
PostgresServer& shared_postgres();

}  // namespace test_support
