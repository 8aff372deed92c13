#pragma once
// SQLite helpers shared by the store's files (sqlite_store.cpp, sqlite_history.cpp): a handle
// that closes itself, prepared statements, one-shot queries. Internal to libchat/store.
#include <sqlite3.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace chat::store::sqlite {

constexpr int busy_timeout_ms = 5000;

// Errors of the data, not of the store: the same mutation would fail again on every retry.
bool is_permanent(int code);

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Database = std::unique_ptr<sqlite3, DatabaseCloser>;

// An id as an SQLite INTEGER; throws StoreError (permanent) for one that does not fit.
inline std::int64_t as_integer(std::uint64_t id) {
  if (id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw StoreError("id " + std::to_string(id) + " does not fit an SQLite INTEGER", true);
  }
  return static_cast<std::int64_t>(id);
}

struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      throw StoreError(std::string("cannot prepare \"") + sql + "\": " + sqlite3_errmsg(db));
    }
    stmt_.reset(raw);
  }

  Statement& bind(int index, std::string_view text) {
    check(sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                            SQLITE_STATIC));
    return *this;
  }
  Statement& bind_blob(int index, std::string_view bytes) {
    check(sqlite3_bind_blob(stmt_.get(), index, bytes.data(), static_cast<int>(bytes.size()),
                            SQLITE_STATIC));
    return *this;
  }
  Statement& bind(int index, std::int64_t number) {
    check(sqlite3_bind_int64(stmt_.get(), index, number));
    return *this;
  }
  Statement& bind_id(int index, std::uint64_t id) { return bind(index, as_integer(id)); }

  // Runs to completion, skipping any rows (PRAGMAs return some).
  void run() {
    while (next_row()) {
    }
  }

  // Steps once: true while a row is available. Resets when done or on error.
  bool next_row() {
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) {
      reset();
      return false;
    }
    std::string message = sqlite3_errmsg(db_);  // before reset() can replace it
    const bool permanent = is_permanent(sqlite3_extended_errcode(db_));
    reset();
    throw StoreError(message, permanent);
  }

  std::string text(int column) const { return std::string(view(column)); }
  // The column's text, valid until the next step or reset.
  std::string_view view(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), column));
    if (data == nullptr) return {};
    return {data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column))};
  }
  // The column's bytes as a blob, valid until the next step or reset.
  std::string_view blob(int column) const {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), column));
    if (data == nullptr) return {};
    return {data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column))};
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_.get(), column); }
  std::uint64_t id(int column) const { return static_cast<std::uint64_t>(integer(column)); }

  void reset() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw StoreError(sqlite3_errmsg(db_), is_permanent(rc));
  }

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> stmt_;
};

// Runs one or more statements that return nothing. Throws StoreError.
void execute(sqlite3* db, const char* sql);

// Rolls back the transaction still open on `db`, if any: an error may have ended it already
// (disk full, I/O), and a read has nothing to keep. A failing ROLLBACK is not reported: the
// caller's own error, or none, is the one that matters.
void roll_back_if_open(sqlite3* db, Statement& rollback) noexcept;

// The first column of the first row of `sql` (empty text or 0 when there is none).
std::string query_text(sqlite3* db, const char* sql);
std::int64_t query_integer(sqlite3* db, const char* sql);

}  // namespace chat::store::sqlite
