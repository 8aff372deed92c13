#include "store/sqlite_statement.hpp"

namespace chat::store::sqlite {

bool is_permanent(int code) {
  switch (code & 0xff) {  // the primary code of an extended one
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return true;
    default:
      return false;
  }
}

void execute(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : sqlite3_errmsg(db);
    sqlite3_free(error);
    throw StoreError(message);
  }
}

void roll_back_if_open(sqlite3* db, Statement& rollback) noexcept {
  if (sqlite3_get_autocommit(db) != 0) return;
  try {
    rollback.run();
  } catch (const StoreError&) {
  }
}

std::string query_text(sqlite3* db, const char* sql) {
  Statement query(db, sql);
  std::string value = query.next_row() ? query.text(0) : std::string();
  query.reset();
  return value;
}

std::int64_t query_integer(sqlite3* db, const char* sql) {
  Statement query(db, sql);
  const std::int64_t value = query.next_row() ? query.integer(0) : 0;
  query.reset();
  return value;
}

}  // namespace chat::store::sqlite
