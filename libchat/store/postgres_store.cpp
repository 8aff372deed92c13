#include "store/postgres_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "store/postgres_connection.hpp"
#include "store/postgres_schema.hpp"

namespace chat::store {
namespace {

using pg::Result;

// Prepared statements, by name. $1 is always the realm.
struct NamedSql {
  const char* name;
  const char* sql;
};
constexpr NamedSql kStatements[] = {
    {"fence", "SELECT realmchat.fence($1, $2)"},
    {"put_user",
     "INSERT INTO realmchat.users(realm, username, password_hash, nama, negara) "
     "VALUES($1, $2, $3, $4, $5)"},
    {"put_group", "INSERT INTO realmchat.groups(realm, name) VALUES($1, $2)"},
    {"put_member", "INSERT INTO realmchat.members(realm, group_name, username) VALUES($1, $2, $3)"},
    {"put_messages",
     "INSERT INTO realmchat.messages(realm, id, recipient, sender, sender_realm, group_name, "
     "body, sent_at, bounce) SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], "
     "$5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[])"},
    {"mark_fetched",
     "UPDATE realmchat.messages SET fetched = true "
     "WHERE realm = $1 AND id = ANY($2::bigint[]) AND NOT fetched"},
    {"put_outbox",
     "INSERT INTO realmchat.outbox(realm, id, peer, kind, sender, target, body, sent_at) "
     "SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], "
     "$7::text[], $8::text[])"},
    {"delete_outbox",
     "DELETE FROM realmchat.outbox WHERE realm = $1 AND (id, peer) IN "
     "(SELECT * FROM unnest($2::bigint[], $3::text[]))"},
    {"put_seen",
     "INSERT INTO realmchat.seen AS s(realm, origin, max_id) "
     "SELECT $1, * FROM unnest($2::text[], $3::bigint[]) "
     "ON CONFLICT(realm, origin) DO UPDATE SET max_id = greatest(s.max_id, excluded.max_id)"},
    {"put_peer",
     "INSERT INTO realmchat.peers(realm, name, host, port) VALUES($1, $2, $3, $4) "
     "ON CONFLICT(realm, name) DO UPDATE SET host = excluded.host, port = excluded.port"},
    {"put_refused",
     "INSERT INTO realmchat.refused(realm, origin, id, error) VALUES($1, $2, $3, $4) "
     "ON CONFLICT(realm, origin, id) DO UPDATE SET error = excluded.error"},
    {"delete_refused",
     "DELETE FROM realmchat.refused WHERE realm = $1 AND origin = $2 AND id <= $3"},
    // A replaced session goes last in creation order, as SqliteStore's INSERT OR REPLACE.
    {"put_session",
     "INSERT INTO realmchat.sessions(realm, token_hash, username) VALUES($1, $2, $3) "
     "ON CONFLICT(realm, token_hash) DO UPDATE SET username = excluded.username, "
     "seq = excluded.seq"},
    {"delete_session", "DELETE FROM realmchat.sessions WHERE realm = $1 AND token_hash = $2"},
    {"save_meta",
     "INSERT INTO realmchat.meta AS m(realm, key, value) VALUES($1, $2, $3) "
     "ON CONFLICT(realm, key) DO UPDATE SET value = "
     "CASE WHEN $2 = 'max_id' THEN greatest(m.value, excluded.value) ELSE excluded.value END"},
    {"read_meta", "SELECT value FROM realmchat.meta WHERE realm = $1 AND key = $2"},
};

// Results read back per round trip: the statements of a big batch are sent in chunks so that
// neither side's socket buffer fills while the other waits (libpq's pipeline-mode caveat).
constexpr int kChunk = 256;

// The transaction of one batch in pipeline mode: statements are sent without waiting, results
// read back per chunk, and COMMIT plus a sync end it. On any error the connection is closed
// (the server rolls back what was not committed); the next commit reconnects.
class Pipeline {
 public:
  explicit Pipeline(pg::Connection& connection) : connection_(connection) {
    if (PQenterPipelineMode(connection_.get()) != 1) fail();
    send_text("BEGIN");
  }

  void send(const char* statement, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    if (PQsendQueryPrepared(connection_.get(), statement, static_cast<int>(values.size()),
                            values.data(), nullptr, nullptr, 0) != 1) {
      fail();
    }
    if (++unread_ >= kChunk) {
      if (PQsendFlushRequest(connection_.get()) != 1 || PQflush(connection_.get()) != 0) fail();
      read_results();
    }
  }

  // Sends COMMIT and the sync, reads everything back; throws the first error.
  void commit() {
    send_text("COMMIT");
    if (PQpipelineSync(connection_.get()) != 1) fail();
    read_results();
    Result sync(PQgetResult(connection_.get()));
    if (sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) fail();
    if (PQexitPipelineMode(connection_.get()) != 1) fail();
  }

 private:
  void send_text(const char* sql) {
    if (PQsendQueryParams(connection_.get(), sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
      fail();
    }
    ++unread_;
  }

  void read_results() {
    for (; unread_ > 0; --unread_) {
      Result result(PQgetResult(connection_.get()));
      if (result == nullptr) fail();
      check_or_close(result.get());
      while (Result more{PQgetResult(connection_.get())}) check_or_close(more.get());
    }
  }

  // A failed statement aborts the transaction; rather than reading out the rest of the
  // pipeline, the connection goes with it.
  void check_or_close(const pg_result* result) {
    try {
      pg::check(result, connection_);
    } catch (...) {
      connection_.close();
      throw;
    }
  }

  [[noreturn]] void fail() {
    std::string message = connection_.error_message();
    connection_.close();
    throw pg::ConnectionLost("PostgreSQL: " +
                             (message.empty() ? std::string("pipeline failed") : message));
  }

  pg::Connection& connection_;
  int unread_ = 0;
};

}  // namespace

struct PostgresStore::Impl {
  Impl(std::string url, std::string realm_name, std::chrono::milliseconds timeout)
      : connection(std::move(url), timeout), realm(std::move(realm_name)) {
    connect();
    std::random_device random;
    next_marker = (static_cast<std::uint64_t>(random()) << 20) & 0x7fffffffffffffffULL;
  }

  // (Re)connects when needed; a new connection checks the schema (the database may have been
  // restored meanwhile) and prepares the statements again.
  void connect() {
    if (!connection.ensure()) return;
    pg::prepare_schema(connection);
    for (const NamedSql& statement : kStatements) connection.prepare(statement.name, statement.sql);
  }

  void run(std::span<const Mutation> batch, std::uint64_t marker);
  std::uint64_t read_meta(const char* key) {
    Result result = connection.exec_prepared("read_meta", {realm, key});
    return PQntuples(result.get()) == 0 ? 0 : std::stoull(PQgetvalue(result.get(), 0, 0));
  }

  pg::Connection connection;
  std::string realm;
  std::optional<std::uint64_t> epoch;  // fence(): checked by every commit
  std::uint64_t next_marker = 0;
  // The queue's current batch (see the class comment): its first `committed_prefix` mutations
  // are known committed; the next `in_doubt_size` were sent with marker `in_doubt_marker` and
  // the connection broke before the outcome was known.
  std::size_t committed_prefix = 0;
  std::optional<std::uint64_t> in_doubt_marker;
  std::size_t in_doubt_size = 0;
};

namespace {

std::string number(std::uint64_t value) {
  return std::to_string(value);
}

// Sends the mutations of one batch, in batch order; consecutive ones of a kind that has a
// multi-row statement go as one statement.
class BatchWriter {
 public:
  BatchWriter(Pipeline& pipeline, const std::string& realm) : pipeline_(pipeline), realm_(realm) {}

  void add(const Mutation& mutation) {
    if (mutation.index() != run_kind_) flush();
    run_kind_ = mutation.index();
    std::visit([this](const auto& m) { apply(m); }, mutation);
  }

  void flush() {
    if (!messages_.empty()) send_messages();
    if (!outbox_.empty()) send_outbox();
    if (!fetched_.empty()) pipeline_.send("mark_fetched", {realm_, pg::id_array(fetched_)});
    if (!deleted_ids_.empty()) {
      pipeline_.send("delete_outbox",
                     {realm_, pg::id_array(deleted_ids_), pg::text_array(deleted_peers_)});
    }
    if (!seen_.empty()) send_seen();
    messages_.clear();
    outbox_.clear();
    fetched_.clear();
    deleted_ids_.clear();
    deleted_peers_.clear();
    seen_.clear();
  }

  std::uint64_t max_id() const { return max_id_; }

 private:
  void apply(const PutMessage& m) {
    messages_.push_back(&m.message);
    max_id_ = std::max(max_id_, m.message.id);
  }
  void apply(const PutOutbox& m) {
    outbox_.push_back(&m.entry);
    max_id_ = std::max(max_id_, m.entry.id);
  }
  void apply(const MarkFetched& m) { fetched_.insert(fetched_.end(), m.ids.begin(), m.ids.end()); }
  void apply(const DeleteOutbox& m) {
    deleted_ids_.push_back(m.id);
    deleted_peers_.push_back(m.peer);
  }
  // One row per origin in a statement (ON CONFLICT may touch a row once): the highest wins.
  void apply(const PutSeen& m) {
    auto& id = seen_[m.origin];
    id = std::max(id, m.id);
  }
  void apply(const PutUser& m) {
    pipeline_.send("put_user",
                   {realm_, m.user.username, m.user.password_hash, m.user.nama, m.user.negara});
  }
  void apply(const PutGroup& m) { pipeline_.send("put_group", {realm_, m.name}); }
  void apply(const PutMember& m) { pipeline_.send("put_member", {realm_, m.group, m.user}); }
  void apply(const PutPeer& m) {
    pipeline_.send("put_peer", {realm_, m.peer.name, m.peer.host, number(m.peer.port)});
  }
  void apply(const PutRefused& m) {
    pipeline_.send("put_refused",
                   {realm_, m.refused.origin, number(m.refused.id), m.refused.error});
  }
  void apply(const DeleteRefused& m) {
    pipeline_.send("delete_refused", {realm_, m.origin, number(m.up_to)});
  }
  void apply(const PutSession& m) {
    pipeline_.send("put_session", {realm_, m.session.token_hash, m.session.user});
  }
  void apply(const DeleteSession& m) { pipeline_.send("delete_session", {realm_, m.token_hash}); }

  void send_messages() {
    std::vector<std::uint64_t> ids;
    std::vector<std::string_view> recipient, sender, sender_realm, group, text, time;
    std::string bounce = "{";
    for (const MessageRecord* m : messages_) {
      ids.push_back(m->id);
      recipient.push_back(m->recipient);
      sender.push_back(m->sender);
      sender_realm.push_back(m->sender_realm);
      group.push_back(m->group);
      text.push_back(m->text);
      time.push_back(m->time);
      bounce += bounce.size() > 1 ? ",f" : "f";
      if (m->bounce) bounce.back() = 't';
    }
    bounce += '}';
    pipeline_.send("put_messages",
                   {realm_, pg::id_array(ids), pg::text_array(recipient), pg::text_array(sender),
                    pg::text_array(sender_realm), pg::text_array(group), pg::text_array(text),
                    pg::text_array(time), bounce});
  }

  void send_outbox() {
    std::vector<std::uint64_t> ids;
    std::vector<std::string_view> peer, kind, sender, target, text, time;
    for (const OutboxRecord* e : outbox_) {
      ids.push_back(e->id);
      peer.push_back(e->peer);
      kind.push_back(e->kind);
      sender.push_back(e->sender);
      target.push_back(e->target);
      text.push_back(e->text);
      time.push_back(e->time);
    }
    pipeline_.send("put_outbox",
                   {realm_, pg::id_array(ids), pg::text_array(peer), pg::text_array(kind),
                    pg::text_array(sender), pg::text_array(target), pg::text_array(text),
                    pg::text_array(time)});
  }

  void send_seen() {
    std::vector<std::string_view> origins;
    std::vector<std::uint64_t> ids;
    for (const auto& [origin, id] : seen_) {
      origins.push_back(origin);
      ids.push_back(id);
    }
    pipeline_.send("put_seen", {realm_, pg::text_array(origins), pg::id_array(ids)});
  }

  Pipeline& pipeline_;
  const std::string& realm_;
  std::size_t run_kind_ = std::variant_npos;
  std::vector<const MessageRecord*> messages_;
  std::vector<const OutboxRecord*> outbox_;
  std::vector<std::uint64_t> fetched_;
  std::vector<std::uint64_t> deleted_ids_;
  std::vector<std::string_view> deleted_peers_;
  std::map<std::string, std::uint64_t> seen_;
  std::uint64_t max_id_ = 0;
};

}  // namespace

void PostgresStore::Impl::run(std::span<const Mutation> batch, std::uint64_t marker) {
  Pipeline pipeline(connection);
  if (epoch) pipeline.send("fence", {realm, number(*epoch)});
  BatchWriter writer(pipeline, realm);
  for (const Mutation& mutation : batch) writer.add(mutation);
  writer.flush();
  if (writer.max_id() > 0) pipeline.send("save_meta", {realm, "max_id", number(writer.max_id())});
  pipeline.send("save_meta", {realm, "batch", number(marker)});
  pipeline.commit();
}

PostgresStore::PostgresStore(std::string url, std::string realm, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(url), std::move(realm), timeout)) {}

PostgresStore::~PostgresStore() = default;

void PostgresStore::prepare_schema(const std::string& url, std::chrono::milliseconds timeout) {
  pg::Connection connection(url, timeout);
  connection.ensure();
  pg::prepare_schema(connection);
}

void PostgresStore::fence(std::uint64_t epoch) {
  impl_->epoch = epoch;
}

void PostgresStore::commit(std::span<const Mutation> batch) {
  Impl& s = *impl_;
  s.connect();
  if (s.in_doubt_marker) {
    // The last attempt's connection broke after it was sent: the marker tells whether it
    // committed.
    if (s.read_meta("batch") == *s.in_doubt_marker) s.committed_prefix += s.in_doubt_size;
    s.in_doubt_marker.reset();
  }
  const std::span<const Mutation> rest = batch.subspan(std::min(s.committed_prefix, batch.size()));
  if (rest.empty()) {
    s.committed_prefix = 0;
    return;
  }
  const std::uint64_t marker = ++s.next_marker;
  try {
    s.run(rest, marker);
  } catch (const pg::ConnectionLost&) {
    s.in_doubt_marker = marker;
    s.in_doubt_size = rest.size();
    throw;
  }
  s.committed_prefix = 0;
}

namespace {

// Reads the rows of one realm. Column values are text (libpq's text format).
class RealmRows {
 public:
  RealmRows(pg::Connection& connection, const std::string& realm)
      : connection_(connection), realm_{realm} {}

  // Calls `row(result, i)` for every row of `sql` ($1: the realm).
  template <typename Row>
  int each(const char* sql, Row row) {
    const Result result = connection_.exec(sql, realm_);
    const int rows = PQntuples(result.get());
    for (int i = 0; i < rows; ++i) row(result, i);
    return rows;
  }

  static std::string text(const Result& r, int row, int column) {
    return std::string(PQgetvalue(r.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(r.get(), row, column)));
  }
  static std::uint64_t id(const Result& r, int row, int column) {
    return std::stoull(PQgetvalue(r.get(), row, column));
  }

 private:
  pg::Connection& connection_;
  std::vector<std::string> realm_;
};

using Row = const Result&;

void load_accounts(RealmRows& rows, Snapshot& snapshot) {
  rows.each(
      "SELECT username, password_hash, nama, negara FROM realmchat.users "
      "WHERE realm = $1 ORDER BY seq",
      [&](Row r, int i) {
        snapshot.users.push_back({RealmRows::text(r, i, 0), RealmRows::text(r, i, 1),
                                  RealmRows::text(r, i, 2), RealmRows::text(r, i, 3)});
      });
  std::unordered_map<std::string, std::size_t> group_index;
  rows.each("SELECT name FROM realmchat.groups WHERE realm = $1 ORDER BY seq", [&](Row r, int i) {
    group_index.emplace(RealmRows::text(r, i, 0), snapshot.groups.size());
    snapshot.groups.push_back({RealmRows::text(r, i, 0), {}});
  });
  // As SqliteStore: a member of a group that does not exist is not loaded.
  rows.each("SELECT group_name, username FROM realmchat.members WHERE realm = $1 ORDER BY seq",
            [&](Row r, int i) {
              auto group = group_index.find(RealmRows::text(r, i, 0));
              if (group != group_index.end()) {
                snapshot.groups[group->second].members.push_back(RealmRows::text(r, i, 1));
              }
            });
  rows.each("SELECT token_hash, username FROM realmchat.sessions WHERE realm = $1 ORDER BY seq",
            [&](Row r, int i) {
              snapshot.sessions.push_back({RealmRows::text(r, i, 0), RealmRows::text(r, i, 1)});
            });
}

void load_messages(RealmRows& rows, Snapshot& snapshot) {
  rows.each(
      "SELECT id, recipient, sender, sender_realm, group_name, body, sent_at, bounce "
      "FROM realmchat.messages WHERE realm = $1 AND NOT fetched ORDER BY id",
      [&](Row r, int i) {
        if (i == 0) snapshot.unread.reserve(static_cast<std::size_t>(PQntuples(r.get())));
        snapshot.unread.push_back({RealmRows::id(r, i, 0), RealmRows::text(r, i, 1),
                                   RealmRows::text(r, i, 2), RealmRows::text(r, i, 3),
                                   RealmRows::text(r, i, 4), RealmRows::text(r, i, 5),
                                   RealmRows::text(r, i, 6), RealmRows::text(r, i, 7) == "t"});
      });
  rows.each(
      "SELECT id, peer, kind, sender, target, body, sent_at FROM realmchat.outbox "
      "WHERE realm = $1 ORDER BY id",
      [&](Row r, int i) {
        snapshot.outbox.push_back({RealmRows::id(r, i, 0), RealmRows::text(r, i, 1),
                                   RealmRows::text(r, i, 2), RealmRows::text(r, i, 3),
                                   RealmRows::text(r, i, 4), RealmRows::text(r, i, 5),
                                   RealmRows::text(r, i, 6)});
      });
  rows.each(
      "SELECT greatest((SELECT coalesce(max(id), 0) FROM realmchat.messages WHERE realm = $1), "
      "(SELECT coalesce(max(id), 0) FROM realmchat.outbox WHERE realm = $1), "
      "(SELECT coalesce(max(value), 0) FROM realmchat.meta WHERE realm = $1 AND key = 'max_id'))",
      [&](Row r, int i) { snapshot.max_id = RealmRows::id(r, i, 0); });
}

void load_federation(RealmRows& rows, Snapshot& snapshot) {
  // COLLATE "C": byte order, as SqliteStore's (the database's collation may differ).
  rows.each(
      "SELECT origin, max_id FROM realmchat.seen WHERE realm = $1 ORDER BY origin COLLATE \"C\"",
      [&](Row r, int i) {
        snapshot.seen.emplace_back(RealmRows::text(r, i, 0), RealmRows::id(r, i, 1));
      });
  rows.each("SELECT name, host, port FROM realmchat.peers WHERE realm = $1 ORDER BY seq",
            [&](Row r, int i) {
              snapshot.peers.push_back({RealmRows::text(r, i, 0), RealmRows::text(r, i, 1),
                                        static_cast<std::uint16_t>(RealmRows::id(r, i, 2))});
            });
  rows.each(
      "SELECT origin, id, error FROM realmchat.refused WHERE realm = $1 "
      "ORDER BY origin COLLATE \"C\", id",
      [&](Row r, int i) {
        snapshot.refused.push_back(
            {RealmRows::text(r, i, 0), RealmRows::id(r, i, 1), RealmRows::text(r, i, 2)});
      });
}

}  // namespace

Snapshot PostgresStore::load() {
  impl_->connect();
  RealmRows rows(impl_->connection, impl_->realm);
  Snapshot snapshot;
  load_accounts(rows, snapshot);
  load_messages(rows, snapshot);
  load_federation(rows, snapshot);
  return snapshot;
}

}  // namespace chat::store
