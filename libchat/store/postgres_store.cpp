#include "store/postgres_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "store/postgres_connection.hpp"
#include "store/postgres_schema.hpp"

namespace chat::store {
namespace {

using pg::Result;

// The condition that reaches a conversation's rows through the index history_by_conversation_key
// (postgres_schema.cpp), with $1 the realm and $2 the conversation.
#define CONVERSATION_KEY                               \
  "realmchat.conversation_key(realm, conversation) = " \
  "realmchat.conversation_key($1, $2)"

// Prepared statements, by name. $1 is always the realm. A batch's rows arrive as one array per
// column, zipped by `unnest` calls in the select list (run in lockstep, a row per element)
// rather than by one `unnest(a, b, ...)` in FROM, which is a function scan that copies every
// row into a tuplestore before the insert reads it (docs/performance.md "PostgreSQL, session 7").
struct NamedSql {
  const char* name;
  const char* sql;
};
constexpr NamedSql prepared_statements[] = {
    // The fence, the batch's marker and its highest id (postgres_schema.cpp).
    {"start_batch", "SELECT realmchat.start_batch($1, $2, $3, $4)"},
    {"put_user",
     "INSERT INTO realmchat.users(realm, username, password_hash, nama, negara) "
     "VALUES($1, $2, $3, $4, $5)"},
    {"put_group", "INSERT INTO realmchat.groups(realm, name) VALUES($1, $2)"},
    {"put_member", "INSERT INTO realmchat.members(realm, group_name, username) VALUES($1, $2, $3)"},
    {"put_messages",
     "INSERT INTO realmchat.messages(realm, id, recipient, sender, sender_realm, group_name, "
     "body, sent_at, bounce, history_id) SELECT $1, unnest($2::bigint[]), unnest($3::text[]), "
     "unnest($4::text[]), unnest($5::text[]), unnest($6::text[]), unnest($7::text[]), "
     "unnest($8::text[]), unnest($9::boolean[]), unnest($10::bigint[])"},
    // A fetched entry leaves the inbox; the message stays in history.
    {"mark_fetched", "DELETE FROM realmchat.messages WHERE realm = $1 AND id = ANY($2::bigint[])"},
    {"put_history",
     "INSERT INTO realmchat.history(realm, id, conversation, sender, sender_realm, recipient, "
     "group_name, body, sent_at, bounce) SELECT $1, unnest($2::bigint[]), unnest($3::text[]), "
     "unnest($4::text[]), unnest($5::text[]), unnest($6::text[]), unnest($7::text[]), "
     "unnest($8::text[]), unnest($9::text[]), unnest($10::boolean[])"},
    // Of the `scan` oldest messages (by id), those older than the bound.
    {"prune_history",
     "DELETE FROM realmchat.history WHERE realm = $1 AND id IN (SELECT id FROM "
     "realmchat.history WHERE realm = $1 ORDER BY id LIMIT $3) AND sent_at < $2"},
    // Everything up to the (keep+1)-th newest; nothing when there are no more than `keep`.
    {"trim_conversation",
     "DELETE FROM realmchat.history WHERE realm = $1 AND conversation = $2 AND " CONVERSATION_KEY
     " AND id <= (SELECT id FROM realmchat.history WHERE realm = $1 AND conversation = $2 "
     "AND " CONVERSATION_KEY " ORDER BY id DESC LIMIT 1 OFFSET $3)"},
    {"put_outbox",
     "INSERT INTO realmchat.outbox(realm, id, epoch, peer, kind, sender, target, body, sent_at, "
     "route) SELECT $1, unnest($2::bigint[]), unnest($3::bigint[]), unnest($4::text[]), "
     "unnest($5::text[]), unnest($6::text[]), unnest($7::text[]), unnest($8::text[]), "
     "unnest($9::text[]), unnest($10::text[])"},
    {"delete_outbox",
     "DELETE FROM realmchat.outbox WHERE realm = $1 AND (id, peer) IN "
     "(SELECT unnest($2::bigint[]), unnest($3::text[]))"},
    // The highest id wins, the latest touch wins (SqliteStore's upsert).
    {"put_seen",
     "INSERT INTO realmchat.seen AS s(realm, origin, epoch, max_id, touched) "
     "SELECT $1, unnest($2::text[]), unnest($3::bigint[]), unnest($4::bigint[]), "
     "unnest($5::bigint[]) "
     "ON CONFLICT(realm, origin, epoch) DO UPDATE SET "
     "max_id = greatest(s.max_id, excluded.max_id), touched = excluded.touched"},
    {"delete_seen", "DELETE FROM realmchat.seen WHERE realm = $1 AND origin = $2 AND epoch = $3"},
    {"put_peer",
     "INSERT INTO realmchat.peers(realm, name, host, port) VALUES($1, $2, $3, $4) "
     "ON CONFLICT(realm, name) DO UPDATE SET host = excluded.host, port = excluded.port"},
    {"put_refused",
     "INSERT INTO realmchat.refused(realm, origin, epoch, id, error) VALUES($1, $2, $3, $4, $5) "
     "ON CONFLICT(realm, origin, epoch, id) DO UPDATE SET error = excluded.error"},
    {"delete_refused",
     "DELETE FROM realmchat.refused WHERE realm = $1 AND origin = $2 AND epoch = $3 AND id <= $4"},
    // A replaced session goes last in creation order, as SqliteStore's INSERT OR REPLACE.
    {"put_session",
     "INSERT INTO realmchat.sessions(realm, token_hash, username) VALUES($1, $2, $3) "
     "ON CONFLICT(realm, token_hash) DO UPDATE SET username = excluded.username, "
     "seq = excluded.seq"},
    {"delete_session", "DELETE FROM realmchat.sessions WHERE realm = $1 AND token_hash = $2"},
    {"put_pin",
     "INSERT INTO realmchat.pins(realm, pinned_realm, public_key) VALUES($1, $2, $3) "
     "ON CONFLICT(realm, pinned_realm) DO NOTHING"},
    {"read_signing_key", "SELECT secret FROM realmchat.signing_keys WHERE realm = $1"},
    {"put_signing_key",
     "INSERT INTO realmchat.signing_keys(realm, secret) VALUES($1, $2) "
     "ON CONFLICT(realm) DO NOTHING"},
    {"read_meta", "SELECT value FROM realmchat.meta WHERE realm = $1 AND key = $2"},
};

// Results read back per round trip: the statements of a big batch are sent in chunks so that
// neither side's socket buffer fills while the other waits (libpq's pipeline-mode caveat).
constexpr int rows_per_chunk = 256;

// Which mutations of the batch a statement carries: [first, first + count). None for BEGIN,
// start_batch and COMMIT.
struct Origin {
  std::size_t first = 0;
  std::size_t count = 0;
};

// A statement failed on the data (StoreError::permanent), not on the database.
struct PermanentFailure {
  Origin origin;
  std::string what;
};

// The transaction of one batch in pipeline mode: statements are sent without waiting, results
// read back per chunk, and COMMIT plus a sync end it. On any error the connection is closed
// (the server rolls back what was not committed); the next commit reconnects.
class Pipeline {
 public:
  explicit Pipeline(pg::Connection& connection) : connection_(connection) {
    if (PQenterPipelineMode(connection_.get()) != 1) fail();
    send_text("BEGIN");
  }

  void send(const char* statement, const std::vector<std::string>& params, Origin origin = {}) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    if (PQsendQueryPrepared(connection_.get(), statement, static_cast<int>(values.size()),
                            values.data(), nullptr, nullptr, 0) != 1) {
      fail();
    }
    unread_.push_back(origin);
    if (unread_.size() >= rows_per_chunk) {
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
    unread_.push_back({});
  }

  void read_results() {
    for (; !unread_.empty(); unread_.pop_front()) {
      Result result(PQgetResult(connection_.get()));
      if (result == nullptr) fail();
      check_or_close(result.get(), unread_.front());
      while (Result more{PQgetResult(connection_.get())}) check_or_close(more.get(), {});
    }
  }

  // A failed statement aborts the transaction; rather than reading out the rest of the
  // pipeline, the connection goes with it. A failure of the data says whose it was.
  void check_or_close(const pg_result* result, Origin origin) {
    try {
      pg::check(result, connection_);
    } catch (const StoreError& e) {
      connection_.close();
      if (e.permanent && origin.count > 0) throw PermanentFailure{origin, e.what()};
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
  std::deque<Origin> unread_;
};

}  // namespace

struct PostgresStore::Impl {
  Impl(std::string url_text, std::string realm_name, std::chrono::milliseconds timeout_ms)
      : url(url_text),
        timeout(timeout_ms),
        connection(std::move(url_text), timeout_ms),
        realm(std::move(realm_name)) {
    connect();
    std::random_device random;
    next_marker = (static_cast<std::uint64_t>(random()) << 20) & 0x7fffffffffffffffULL;
  }

  // (Re)connects when needed; a new connection checks the schema (the database may have been
  // restored meanwhile) and prepares the statements again.
  void connect() {
    if (!connection.ensure()) return;
    pg::prepare_schema(connection);
    for (const NamedSql& statement : prepared_statements)
      connection.prepare(statement.name, statement.sql);
  }

  // One transaction; `one_per_statement`: no multi-row statements, so that a failure of the
  // data names its mutation.
  void run(std::span<const Mutation> batch, std::uint64_t marker, bool one_per_statement);
  std::uint64_t read_meta(const char* key) {
    Result result = connection.exec_prepared("read_meta", {realm, key});
    return PQntuples(result.get()) == 0 ? 0 : std::stoull(PQgetvalue(result.get(), 0, 0));
  }

  std::string url;
  std::chrono::milliseconds timeout;
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

// The run a mutation may join: consecutive mutations of one run go as one statement per table.
// Inserts into messages, history and outbox share a run: each table keeps the batch's order,
// and no mutation of the run reads or deletes another table's rows. A `send` queues a message
// and its history row, so runs of one kind would cost two one-row statements per message
// (docs/performance.md "PostgreSQL per send").
std::size_t run_kind(const Mutation& mutation) {
  const bool insert = std::holds_alternative<PutMessage>(mutation) ||
                      std::holds_alternative<PutGroupMessage>(mutation) ||
                      std::holds_alternative<PutHistory>(mutation) ||
                      std::holds_alternative<PutOutbox>(mutation) ||
                      std::holds_alternative<IndexHistory>(mutation);
  return insert ? std::variant_size_v<Mutation> : mutation.index();
}

// Sends the mutations of one batch, in batch order but for the inserts of a run (above), which
// go as one multi-row statement per table (unless one_per_statement).
class BatchWriter {
 public:
  BatchWriter(Pipeline& pipeline, const std::string& realm, bool one_per_statement)
      : pipeline_(pipeline), realm_(realm), one_per_statement_(one_per_statement) {}

  void add(std::size_t index, const Mutation& mutation) {
    const std::size_t kind = run_kind(mutation);
    if (kind != run_kind_ || one_per_statement_) flush();
    if (run_.count == 0) run_.first = index;
    ++run_.count;
    run_kind_ = kind;
    std::visit([this](const auto& m) { apply(m); }, mutation);
  }

  void flush() {
    if (!messages_.empty()) send_messages();
    if (!history_.empty()) send_history();
    if (!outbox_.empty()) send_outbox();
    if (!fetched_.empty()) pipeline_.send("mark_fetched", {realm_, pg::id_array(fetched_)}, run_);
    if (!deleted_ids_.empty()) {
      pipeline_.send("delete_outbox",
                     {realm_, pg::id_array(deleted_ids_), pg::text_array(deleted_peers_)}, run_);
    }
    if (!seen_.empty()) send_seen();
    messages_.clear();
    message_ids_.clear();
    message_recipients_.clear();
    history_.clear();
    outbox_.clear();
    fetched_.clear();
    deleted_ids_.clear();
    deleted_peers_.clear();
    seen_.clear();
    run_ = {};
  }

 private:
  // A statement of its own for this one mutation.
  void single(const char* statement, const std::vector<std::string>& params) {
    pipeline_.send(statement, params, run_);
    run_ = {};
  }

  void apply(const PutMessage& m) { add_message(m.message, m.message.id, m.message.recipient); }
  void apply(const PutGroupMessage& m) {
    for (const GroupDelivery& d : m.deliveries) add_message(m.message, d.id, d.recipient);
  }
  // One inbox row: `r` with its own id and recipient.
  void add_message(const MessageRecord& r, std::uint64_t id, std::string_view recipient) {
    messages_.push_back(&r);
    message_ids_.push_back(id);
    message_recipients_.push_back(recipient);
  }
  void apply(const PutOutbox& m) { outbox_.push_back(&m.entry); }
  void apply(const MarkFetched& m) { fetched_.insert(fetched_.end(), m.ids.begin(), m.ids.end()); }
  void apply(const PutHistory& m) { history_.push_back(&m.message); }
  void apply(const IndexHistory&) {}  // indexed as inserted
  void apply(const PruneHistory& m) {
    single("prune_history", {realm_, m.older_than, number(m.scan)});
  }
  void apply(const TrimConversation& m) {
    single("trim_conversation", {realm_, m.conversation, number(m.keep)});
  }
  void apply(const DeleteOutbox& m) {
    deleted_ids_.push_back(m.id);
    deleted_peers_.push_back(m.peer);
  }
  // One row per (origin, epoch) in a statement (ON CONFLICT may touch a row once): the highest
  // id and the latest touch win, as they would one after the other.
  void apply(const PutSeen& m) {
    auto [it, added] = seen_.try_emplace({m.seen.origin, m.seen.epoch}, m.seen);
    if (!added) merge_later_mark(it->second, m.seen);
  }
  void apply(const DeleteSeen& m) {
    // Its refusals go with it (SqliteStore's DeleteSeen); one mutation, two statements.
    const Origin origin = run_;
    pipeline_.send("delete_seen", {realm_, m.origin, number(m.epoch)}, origin);
    pipeline_.send("delete_refused", {realm_, m.origin, number(m.epoch), "9223372036854775807"},
                   origin);
    run_ = {};
  }
  void apply(const PutUser& m) {
    single("put_user", {realm_, m.user.username, m.user.password_hash, m.user.nama, m.user.negara});
  }
  void apply(const PutGroup& m) { single("put_group", {realm_, m.name}); }
  void apply(const PutMember& m) { single("put_member", {realm_, m.group, m.user}); }
  void apply(const PutPeer& m) {
    single("put_peer", {realm_, m.peer.name, m.peer.host, number(m.peer.port)});
  }
  void apply(const PutRefused& m) {
    single("put_refused", {realm_, m.refused.origin, number(m.refused.epoch), number(m.refused.id),
                           m.refused.error});
  }
  void apply(const DeleteRefused& m) {
    single("delete_refused", {realm_, m.origin, number(m.epoch), number(m.up_to)});
  }
  void apply(const PutSession& m) {
    single("put_session", {realm_, m.session.token_hash, m.session.user});
  }
  void apply(const DeleteSession& m) { single("delete_session", {realm_, m.token_hash}); }
  void apply(const PutPin& m) { single("put_pin", {realm_, m.pin.realm, m.pin.public_key}); }

  // The records' bounce flags as a PostgreSQL boolean array literal: {t,f,...}.
  template <typename Record>
  static std::string bounce_array(const std::vector<const Record*>& records) {
    std::string array = "{";
    for (const Record* r : records) {
      if (array.size() > 1) array += ',';
      array += r->bounce ? 't' : 'f';
    }
    return array + '}';
  }

  // One column of the gathered records (text or id), as a PostgreSQL array literal.
  template <typename Record, typename Value>
  static std::string column(const std::vector<const Record*>& records, Value Record::*field) {
    constexpr bool text = std::is_same_v<Value, std::string>;
    std::vector<std::conditional_t<text, std::string_view, Value>> values;
    values.reserve(records.size());
    for (const Record* r : records) values.push_back(r->*field);
    if constexpr (text) {
      return pg::text_array(values);
    } else {
      return pg::id_array(values);
    }
  }

  void send_messages() {
    using R = MessageRecord;
    const auto& m = messages_;
    pipeline_.send(
        "put_messages",
        {realm_, pg::id_array(message_ids_), pg::text_array(message_recipients_),
         column(m, &R::sender), column(m, &R::sender_realm), column(m, &R::group),
         column(m, &R::text), column(m, &R::time), bounce_array(m), column(m, &R::history_id)},
        run_);
  }

  void send_history() {
    using R = HistoryRecord;
    const auto& h = history_;
    pipeline_.send("put_history",
                   {realm_, column(h, &R::id), column(h, &R::conversation), column(h, &R::sender),
                    column(h, &R::sender_realm), column(h, &R::recipient), column(h, &R::group),
                    column(h, &R::text), column(h, &R::time), bounce_array(h)},
                   run_);
  }

  void send_outbox() {
    using R = OutboxRecord;
    const auto& o = outbox_;
    pipeline_.send("put_outbox",
                   {realm_, column(o, &R::id), column(o, &R::epoch), column(o, &R::peer),
                    column(o, &R::kind), column(o, &R::sender), column(o, &R::target),
                    column(o, &R::text), column(o, &R::time), column(o, &R::route)},
                   run_);
  }

  void send_seen() {
    std::vector<std::string_view> origins;
    std::vector<std::uint64_t> epochs, ids, touched;
    for (const auto& [key, mark] : seen_) {
      origins.push_back(mark.origin);
      epochs.push_back(mark.epoch);
      ids.push_back(mark.id);
      touched.push_back(mark.touched);
    }
    pipeline_.send("put_seen",
                   {realm_, pg::text_array(origins), pg::id_array(epochs), pg::id_array(ids),
                    pg::id_array(touched)},
                   run_);
  }

  Pipeline& pipeline_;
  const std::string& realm_;
  const bool one_per_statement_;
  std::size_t run_kind_ = std::variant_npos;
  Origin run_;  // the mutations the statements being gathered carry
  // The inbox rows of the run: each row's record, and its id and recipient (a group message's
  // record is shared by its deliveries).
  std::vector<const MessageRecord*> messages_;
  std::vector<std::uint64_t> message_ids_;
  std::vector<std::string_view> message_recipients_;
  std::vector<const HistoryRecord*> history_;
  std::vector<const OutboxRecord*> outbox_;
  std::vector<std::uint64_t> fetched_;
  std::vector<std::uint64_t> deleted_ids_;
  std::vector<std::string_view> deleted_peers_;
  std::map<std::pair<std::string, std::uint64_t>, SeenRecord> seen_;
};

// The highest id the batch stores (0: none), kept in meta so that ids never go back even once
// those rows are gone.
std::uint64_t max_id_of(std::span<const Mutation> batch) {
  std::uint64_t max_id = 0;
  for (const Mutation& mutation : batch) {
    if (const auto* m = std::get_if<PutMessage>(&mutation)) {
      max_id = std::max(max_id, m->message.id);
    } else if (const auto* g = std::get_if<PutGroupMessage>(&mutation)) {
      for (const GroupDelivery& d : g->deliveries) max_id = std::max(max_id, d.id);
    } else if (const auto* h = std::get_if<PutHistory>(&mutation)) {
      max_id = std::max(max_id, h->message.id);
    } else if (const auto* o = std::get_if<PutOutbox>(&mutation)) {
      max_id = std::max(max_id, o->entry.id);
    }
  }
  return max_id;
}

}  // namespace

void PostgresStore::Impl::run(std::span<const Mutation> batch, std::uint64_t marker,
                              bool one_per_statement) {
  Pipeline pipeline(connection);
  // Epoch 0: no lease to check (epochs start at 1).
  pipeline.send("start_batch",
                {realm, number(epoch.value_or(0)), number(max_id_of(batch)), number(marker)});
  BatchWriter writer(pipeline, realm, one_per_statement);
  for (std::size_t i = 0; i < batch.size(); ++i) writer.add(i, batch[i]);
  writer.flush();
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

namespace {

// History pages for `history` requests, on a connection of its own (one reader, one thread).
class PostgresHistoryReader final : public HistoryReader {
 public:
  PostgresHistoryReader(const std::string& url, std::string realm,
                        std::chrono::milliseconds timeout)
      : connection_(url, timeout), realm_(std::move(realm)) {
    connection_.ensure();
  }

  // The newest `limit` + 1 below `before`, newest first: one more than asked says `more`.
  // The conversation index finds them as soon as they are committed, so the query's unindexed
  // ids are not needed.
  HistoryPage read_history(const HistoryQuery& query) override {
    connection_.ensure();
    const Result rows = connection_.exec(
        "SELECT id, conversation, sender, sender_realm, recipient, group_name, body, sent_at, "
        "bounce FROM realmchat.history WHERE realm = $1 AND conversation = $2 AND " CONVERSATION_KEY
        " AND ($3 = 0 OR id < $3) ORDER BY id DESC LIMIT $4",
        {realm_, query.conversation, std::to_string(query.before),
         std::to_string(query.limit + 1)});
    HistoryPage page;
    const int count = PQntuples(rows.get());
    const auto text = [&](int row, int column) {
      return std::string(PQgetvalue(rows.get(), row, column),
                         static_cast<std::size_t>(PQgetlength(rows.get(), row, column)));
    };
    for (int i = count - 1; i >= 0; --i) {
      if (static_cast<std::size_t>(i) == query.limit) {
        page.more = true;
        continue;
      }
      page.messages.push_back({std::stoull(text(i, 0)), text(i, 1), text(i, 2), text(i, 3),
                               text(i, 4), text(i, 5), text(i, 6), text(i, 7), text(i, 8) == "t"});
    }
    return page;
  }

 private:
  pg::Connection connection_;
  std::string realm_;
};

}  // namespace

std::unique_ptr<HistoryReader> PostgresStore::open_reader(const HistoryReaderOptions&) {
  return std::make_unique<PostgresHistoryReader>(impl_->url, impl_->realm, impl_->timeout);
}

std::string PostgresStore::signing_key(const std::function<std::string()>& make) {
  Impl& s = *impl_;
  s.connect();
  const auto stored = [&] {
    const Result result = s.connection.exec_prepared("read_signing_key", {s.realm});
    return PQntuples(result.get()) == 0 ? std::string()
                                        : std::string(PQgetvalue(result.get(), 0, 0));
  };
  std::string key = stored();
  if (!key.empty()) return key;
  // Not fenced: whichever process stores the first key, every one signs with it.
  s.connection.exec_prepared("put_signing_key", {s.realm, make()});
  return stored();
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
  const std::size_t skipped = std::min(s.committed_prefix, batch.size());
  const std::span<const Mutation> rest = batch.subspan(skipped);
  if (rest.empty()) {
    s.committed_prefix = 0;
    return;
  }
  const std::uint64_t marker = ++s.next_marker;
  try {
    try {
      s.run(rest, marker, false);
    } catch (const PermanentFailure& failure) {
      // A multi-row statement failed on its data: the batch again, one mutation per
      // statement, names the mutation.
      if (failure.origin.count <= 1) throw;
      s.connect();
      s.run(rest, marker, true);
    }
  } catch (const PermanentFailure& failure) {
    throw MutationRejected(skipped + failure.origin.first, failure.what);
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

std::uint64_t to_id(std::string_view text) {
  std::uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

void load_messages(RealmRows& rows, pg::Connection& connection, const std::string& realm,
                   Snapshot& snapshot, const UnreadSink& unread) {
  MessageRecord record;  // reused row after row: no allocation per row (as SqliteStore)
  // COPY, not SELECT: the unread messages are most of what a takeover reads.
  connection.copy_out(
      "SELECT id, recipient, sender, sender_realm, group_name, body, sent_at, bounce, "
      "history_id FROM realmchat.messages WHERE realm = " +
          connection.literal(realm) + " AND NOT fetched ORDER BY id",
      [&](const std::vector<std::string_view>& f) {
        if (f.size() != 9) throw StoreError("PostgreSQL: unexpected COPY row for messages");
        record.id = to_id(f[0]);
        record.recipient.assign(f[1]);
        record.sender.assign(f[2]);
        record.sender_realm.assign(f[3]);
        record.group.assign(f[4]);
        record.text.assign(f[5]);
        record.time.assign(f[6]);
        record.bounce = f[7] == "t";
        record.history_id = to_id(f[8]);
        unread(record);
      });
  rows.each(
      "SELECT h.conversation, h.id, h.sent_at, c.n FROM (SELECT conversation, max(id) AS last, "
      "count(*) AS n FROM realmchat.history WHERE realm = $1 GROUP BY conversation) AS c "
      "JOIN realmchat.history AS h ON h.realm = $1 AND h.conversation = c.conversation "
      "AND h.id = c.last",
      [&](Row r, int i) {
        snapshot.conversations.push_back({RealmRows::text(r, i, 0), RealmRows::id(r, i, 1),
                                          RealmRows::text(r, i, 2), RealmRows::id(r, i, 3)});
      });
  rows.each(
      "SELECT id, epoch, peer, kind, sender, target, body, sent_at, route FROM realmchat.outbox "
      "WHERE realm = $1 ORDER BY id",
      [&](Row r, int i) {
        snapshot.outbox.push_back(
            {RealmRows::id(r, i, 0), RealmRows::id(r, i, 1), RealmRows::text(r, i, 2),
             RealmRows::text(r, i, 3), RealmRows::text(r, i, 4), RealmRows::text(r, i, 5),
             RealmRows::text(r, i, 6), RealmRows::text(r, i, 7), RealmRows::text(r, i, 8)});
      });
  rows.each(
      "SELECT greatest((SELECT coalesce(max(id), 0) FROM realmchat.messages WHERE realm = $1), "
      "(SELECT coalesce(max(id), 0) FROM realmchat.outbox WHERE realm = $1), "
      "(SELECT coalesce(max(id), 0) FROM realmchat.history WHERE realm = $1), "
      "(SELECT coalesce(max(value), 0) FROM realmchat.meta WHERE realm = $1 AND key = 'max_id'))",
      [&](Row r, int i) { snapshot.max_id = RealmRows::id(r, i, 0); });
}

void load_federation(RealmRows& rows, Snapshot& snapshot) {
  // COLLATE "C": byte order, as SqliteStore's (the database's collation may differ).
  rows.each(
      "SELECT origin, epoch, max_id, touched FROM realmchat.seen WHERE realm = $1 "
      "ORDER BY origin COLLATE \"C\", touched",
      [&](Row r, int i) {
        snapshot.seen.push_back({RealmRows::text(r, i, 0), RealmRows::id(r, i, 1),
                                 RealmRows::id(r, i, 2), RealmRows::id(r, i, 3)});
      });
  rows.each("SELECT name, host, port FROM realmchat.peers WHERE realm = $1 ORDER BY seq",
            [&](Row r, int i) {
              snapshot.peers.push_back({RealmRows::text(r, i, 0), RealmRows::text(r, i, 1),
                                        static_cast<std::uint16_t>(RealmRows::id(r, i, 2))});
            });
  rows.each(
      "SELECT origin, epoch, id, error FROM realmchat.refused WHERE realm = $1 "
      "ORDER BY origin COLLATE \"C\", epoch, id",
      [&](Row r, int i) {
        snapshot.refused.push_back({RealmRows::text(r, i, 0), RealmRows::id(r, i, 1),
                                    RealmRows::id(r, i, 2), RealmRows::text(r, i, 3)});
      });
  rows.each("SELECT pinned_realm, public_key FROM realmchat.pins WHERE realm = $1 ORDER BY seq",
            [&](Row r, int i) {
              snapshot.pins.push_back({RealmRows::text(r, i, 0), RealmRows::text(r, i, 1)});
            });
}

}  // namespace

Snapshot PostgresStore::load_streaming(const UnreadSink& unread) {
  impl_->connect();
  RealmRows rows(impl_->connection, impl_->realm);
  Snapshot snapshot;
  snapshot.history_indexed_as_stored = true;  // by history_by_conversation_key, at insert
  load_accounts(rows, snapshot);
  load_messages(rows, impl_->connection, impl_->realm, snapshot, unread);
  load_federation(rows, snapshot);
  return snapshot;
}

}  // namespace chat::store
