#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.hpp"

// Small RAII pieces over libpq's C API shared by PostgresStore and PostgresLease. Kept out of
// the headers of those two so that libpq-fe.h stays in the .cpp files.
struct pg_conn;
struct pg_result;

namespace chat::store::pg {

struct ResultClear {
  void operator()(pg_result* result) const;
};
using Result = std::unique_ptr<pg_result, ResultClear>;

// One connection, opened from a libpq URI ("postgresql://..." or "key=value ..."). Blocking
// calls; each throws StoreError with PostgreSQL's own message. `timeout` bounds the connect
// and, for TCP, how long unacknowledged data may wait (tcp_user_timeout): a database that
// went away is noticed within it instead of at the kernel's minutes.
class Connection {
 public:
  Connection(std::string url, std::chrono::milliseconds timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects if not connected, or reconnects after the connection broke. True when it
  // (re)connected now: prepared statements must be prepared again.
  bool ensure();
  bool broken() const;
  // Drops the connection (the server rolls back a transaction left open); ensure() reopens it.
  void close();
  pg_conn* get() const { return conn_; }

  // Runs one statement (no parameters, or text ones) and returns its result; throws on error.
  Result exec(const char* sql);
  Result exec(const char* sql, const std::vector<std::string>& params);
  void prepare(const char* name, const char* sql);
  Result exec_prepared(const char* name, const std::vector<std::string>& params);

  // Runs `COPY (query) TO STDOUT` and calls `row(fields)` for each row, its columns unescaped
  // (COPY's text format). Several times faster than a SELECT for the big loads (1,000,000
  // unread messages at a takeover). No NULLs expected.
  void copy_out(const std::string& query,
                const std::function<void(const std::vector<std::string_view>&)>& row);
  // A string literal for `text`, quoted and escaped for this connection.
  std::string literal(const std::string& text) const;

  // The message of the connection's last error, one line.
  std::string error_message() const;

 private:
  std::string url_;
  std::chrono::milliseconds timeout_;
  pg_conn* conn_ = nullptr;
};

// The connection broke while a request was out: whether it took effect is unknown.
struct ConnectionLost : StoreError {
  using StoreError::StoreError;
};

// Throws StoreError (ConnectionLost when the connection is gone, FencedError for the fencing
// SQLSTATE) for a failed result; the message of a unique violation is SqliteStore's ("UNIQUE
// constraint failed: users.username") so that the Store contract holds one message for every
// backend.
void check(const pg_result* result, const Connection& connection);

// The SQLSTATE realmchat.fence() raises when the epoch given is not the lease's any more.
inline constexpr const char* fenced_sqlstate = "RCFEN";

// PostgreSQL array literals for text parameters ("{...}"): multi-row statements take one array
// per column and unnest them.
std::string text_array(const std::vector<std::string_view>& values);
std::string id_array(const std::vector<std::uint64_t>& values);

}  // namespace chat::store::pg
