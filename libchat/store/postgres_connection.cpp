#include "store/postgres_connection.hpp"

#include <libpq-fe.h>

#include <cstring>
#include <map>

namespace chat::store::pg {
namespace {

// Table.column names SqliteStore's messages give for each primary key (see check()).
const std::map<std::string, std::string, std::less<>>& unique_columns() {
  static const std::map<std::string, std::string, std::less<>> columns = {
      {"users_pkey", "users.username"},
      {"groups_pkey", "groups.name"},
      {"members_pkey", "members.group_name, members.username"},
      {"messages_pkey", "messages.id"},
      {"outbox_pkey", "outbox.id"},
      {"history_pkey", "history.id"},
  };
  return columns;
}

std::string one_line(const char* text) {
  std::string line = text != nullptr ? text : "";
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  for (char& c : line) {
    if (c == '\n') c = ' ';
  }
  return line;
}

}  // namespace

void ResultClear::operator()(pg_result* result) const {
  PQclear(result);
}

Connection::Connection(std::string url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout) {}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool Connection::broken() const {
  return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK;
}

void Connection::close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

bool Connection::ensure() {
  if (!broken()) return false;
  close();
  // The URI comes last: what it says wins over these defaults (expand_dbname).
  const std::string connect_timeout =
      std::to_string(std::max<long long>(2, (timeout_.count() + 999) / 1000));
  const std::string user_timeout = std::to_string(timeout_.count());
  const char* keys[] = {"connect_timeout",
                        "tcp_user_timeout",
                        "keepalives_idle",
                        "keepalives_interval",
                        "application_name",
                        "dbname",
                        nullptr};
  const char* values[] = {
      connect_timeout.c_str(), user_timeout.c_str(), "5", "2", "realmd", url_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (conn_ == nullptr) throw StoreError("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    throw StoreError("cannot connect to PostgreSQL: " + error_message());
  }
  exec("SET client_min_messages = warning");  // IF NOT EXISTS notices are not news
  return true;
}

std::string Connection::error_message() const {
  if (conn_ == nullptr) return "not connected";
  return one_line(PQerrorMessage(conn_));
}

Result Connection::exec(const char* sql) {
  Result result(PQexec(conn_, sql));
  check(result.get(), *this);
  return result;
}

namespace {

std::vector<const char*> pointers(const std::vector<std::string>& params) {
  std::vector<const char*> out;
  out.reserve(params.size());
  for (const std::string& p : params) out.push_back(p.c_str());
  return out;
}

}  // namespace

Result Connection::exec(const char* sql, const std::vector<std::string>& params) {
  const auto values = pointers(params);
  Result result(PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(),
                             nullptr, nullptr, 0));
  check(result.get(), *this);
  return result;
}

void Connection::prepare(const char* name, const char* sql) {
  Result result(PQprepare(conn_, name, sql, 0, nullptr));
  check(result.get(), *this);
}

Result Connection::exec_prepared(const char* name, const std::vector<std::string>& params) {
  const auto values = pointers(params);
  Result result(PQexecPrepared(conn_, name, static_cast<int>(values.size()), values.data(), nullptr,
                               nullptr, 0));
  check(result.get(), *this);
  return result;
}

namespace {

// COPY's text format escapes these (and the backslash itself); every other byte is as stored.
char unescaped(char c) {
  switch (c) {
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'v':
      return '\v';
    default:
      return c;
  }
}

// Splits COPY lines (text format) into their columns, reusing its buffers from line to line:
// a takeover reads a million of them, and a line without a backslash (most of them) is split
// in place, with no copy of its bytes.
class CopyLineSplitter {
 public:
  // The columns of `line`, valid until the next call and while `line` lives.
  const std::vector<std::string_view>& split(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    fields_.clear();
    if (line.find('\\') == std::string_view::npos) {
      for (std::size_t start = 0;;) {
        const std::size_t tab = line.find('\t', start);
        fields_.push_back(line.substr(start, tab - start));
        if (tab == std::string_view::npos) break;
        start = tab + 1;
      }
      return fields_;
    }
    return split_unescaping(line);
  }

 private:
  const std::vector<std::string_view>& split_unescaping(std::string_view line) {
    storage_.clear();
    storage_.reserve(line.size());
    ends_.clear();
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '\t') {
        ends_.push_back(storage_.size());
      } else if (c == '\\' && i + 1 < line.size()) {
        storage_.push_back(unescaped(line[++i]));
      } else {
        storage_.push_back(c);
      }
    }
    ends_.push_back(storage_.size());
    std::size_t start = 0;
    for (std::size_t end : ends_) {
      fields_.emplace_back(storage_.data() + start, end - start);
      start = end;
    }
    return fields_;
  }

  std::string storage_;
  std::vector<std::size_t> ends_;
  std::vector<std::string_view> fields_;
};

struct CopyBuffer {
  char* data = nullptr;
  ~CopyBuffer() {
    if (data != nullptr) PQfreemem(data);
  }
};

}  // namespace

void Connection::copy_out(const std::string& query,
                          const std::function<void(const std::vector<std::string_view>&)>& row) {
  Result started(PQexec(conn_, ("COPY (" + query + ") TO STDOUT").c_str()));
  if (started == nullptr || PQresultStatus(started.get()) != PGRES_COPY_OUT) {
    check(started.get(), *this);
    throw StoreError("PostgreSQL: COPY did not start");
  }
  CopyLineSplitter splitter;
  for (;;) {
    CopyBuffer buffer;
    const int length = PQgetCopyData(conn_, &buffer.data, 0);
    if (length == -1) break;  // done
    if (length < 0) throw ConnectionLost("PostgreSQL: " + error_message());
    row(splitter.split(std::string_view(buffer.data, static_cast<std::size_t>(length))));
  }
  Result finished(PQgetResult(conn_));
  check(finished.get(), *this);
  while (Result more{PQgetResult(conn_)}) check(more.get(), *this);
}

std::string Connection::literal(const std::string& text) const {
  char* quoted = PQescapeLiteral(conn_, text.data(), text.size());
  if (quoted == nullptr) throw StoreError("PostgreSQL: " + error_message());
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

void check(const pg_result* result, const Connection& connection) {
  if (result == nullptr) throw ConnectionLost("PostgreSQL: " + connection.error_message());
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_PIPELINE_SYNC) {
    return;
  }
  if (connection.broken()) {
    throw ConnectionLost("PostgreSQL: " + one_line(PQresultErrorMessage(result)));
  }
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state != nullptr ? state : "";
  if (sqlstate == fenced_sqlstate) {
    throw FencedError(one_line(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)));
  }
  // Errors of the data, not of the database: integrity (23), data exceptions such as a number
  // out of range (22), program limits such as a row too big (54). Retrying cannot help.
  const bool permanent =
      sqlstate.starts_with("22") || sqlstate.starts_with("23") || sqlstate.starts_with("54");
  if (sqlstate == "23505") {  // unique_violation
    const char* constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
    auto columns = unique_columns().find(constraint != nullptr ? constraint : "");
    if (columns != unique_columns().end()) {
      throw StoreError("UNIQUE constraint failed: " + columns->second, true);
    }
  }
  std::string message = one_line(PQresultErrorMessage(result));
  if (message.empty()) message = connection.error_message();
  throw StoreError("PostgreSQL: " + message, permanent);
}

std::string text_array(const std::vector<std::string_view>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string id_array(const std::vector<std::uint64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}

}  // namespace chat::store::pg
