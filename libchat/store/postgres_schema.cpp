#include "store/postgres_schema.hpp"

#include <libpq-fe.h>

#include <string>

#include "store/postgres_connection.hpp"

namespace chat::store::pg {
namespace {

// Any fixed number: the key of the advisory lock the schema is created under.
constexpr const char* lock_key = "7302215551";

// Version 1. Every statement is IF NOT EXISTS / OR REPLACE, so a later version can run the
// whole script on an older database to upgrade it.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS realmchat.users(
  realm text NOT NULL,
  username text NOT NULL,
  password_hash text NOT NULL,
  nama text NOT NULL,
  negara text NOT NULL,
  seq bigserial,
  CONSTRAINT users_pkey PRIMARY KEY(realm, username));
CREATE TABLE IF NOT EXISTS realmchat.groups(
  realm text NOT NULL,
  name text NOT NULL,
  seq bigserial,
  CONSTRAINT groups_pkey PRIMARY KEY(realm, name));
CREATE TABLE IF NOT EXISTS realmchat.members(
  realm text NOT NULL,
  group_name text NOT NULL,
  username text NOT NULL,
  seq bigserial,
  CONSTRAINT members_pkey PRIMARY KEY(realm, group_name, username));
CREATE TABLE IF NOT EXISTS realmchat.messages(
  realm text NOT NULL,
  id bigint NOT NULL,
  recipient text NOT NULL,
  sender text NOT NULL,
  sender_realm text NOT NULL,
  group_name text NOT NULL,
  body text NOT NULL,
  sent_at text NOT NULL,
  bounce boolean NOT NULL,
  fetched boolean NOT NULL DEFAULT false,
  history_id bigint NOT NULL DEFAULT 0,
  CONSTRAINT messages_pkey PRIMARY KEY(realm, id));
-- Version 3: no partial index messages_unread (a fetched row is deleted, so it duplicated the
-- primary key: a second B-tree insert per inbox entry).
DROP INDEX IF EXISTS realmchat.messages_unread;
-- History (docs/architecture.md "History"): each message once, found by conversation through
-- the index history_by_conversation_key (below) as it is inserted, so IndexHistory has nothing
-- to do here.
CREATE TABLE IF NOT EXISTS realmchat.history(
  realm text NOT NULL,
  id bigint NOT NULL,
  conversation text NOT NULL,
  sender text NOT NULL,
  sender_realm text NOT NULL,
  recipient text NOT NULL,
  group_name text NOT NULL,
  body text NOT NULL,
  sent_at text NOT NULL,
  bounce boolean NOT NULL,
  CONSTRAINT history_pkey PRIMARY KEY(realm, id));
-- Version 5: the conversation index is keyed by a 64-bit hash of (realm, conversation) and
-- the id, not by the two texts: two integer comparisons per key instead of two text ones, and
-- a narrower index (docs/performance.md "PostgreSQL per send, session 6"). Readers match
-- realm and conversation as well, so a collision only costs a row read. The SQL function is
-- inlined into the index and the queries alike.
CREATE OR REPLACE FUNCTION realmchat.conversation_key(p_realm text, p_conversation text)
RETURNS bigint IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
AS 'SELECT hashtextextended(p_conversation, hashtextextended(p_realm, 0))';
DROP INDEX IF EXISTS realmchat.history_by_conversation;
CREATE INDEX IF NOT EXISTS history_by_conversation_key
  ON realmchat.history(realmchat.conversation_key(realm, conversation), id);
CREATE TABLE IF NOT EXISTS realmchat.outbox(
  realm text NOT NULL,
  id bigint NOT NULL,
  epoch bigint NOT NULL,
  peer text NOT NULL,
  kind text NOT NULL,
  sender text NOT NULL,
  target text NOT NULL,
  body text NOT NULL,
  sent_at text NOT NULL,
  CONSTRAINT outbox_pkey PRIMARY KEY(realm, id));
-- Version 2: a routed message's envelope (docs/protocol.md §2, routing); '' for a direct peer's.
ALTER TABLE realmchat.outbox ADD COLUMN IF NOT EXISTS route text NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS realmchat.seen(
  realm text NOT NULL,
  origin text NOT NULL,
  epoch bigint NOT NULL,
  max_id bigint NOT NULL,
  touched bigint NOT NULL,
  PRIMARY KEY(realm, origin, epoch));
CREATE TABLE IF NOT EXISTS realmchat.peers(
  realm text NOT NULL,
  name text NOT NULL,
  host text NOT NULL,
  port integer NOT NULL,
  seq bigserial,
  PRIMARY KEY(realm, name));
CREATE TABLE IF NOT EXISTS realmchat.refused(
  realm text NOT NULL,
  origin text NOT NULL,
  epoch bigint NOT NULL,
  id bigint NOT NULL,
  error text NOT NULL,
  PRIMARY KEY(realm, origin, epoch, id));
CREATE TABLE IF NOT EXISTS realmchat.sessions(
  realm text NOT NULL,
  token_hash text NOT NULL,
  username text NOT NULL,
  seq bigserial,
  PRIMARY KEY(realm, token_hash));
CREATE TABLE IF NOT EXISTS realmchat.meta(
  realm text NOT NULL,
  key text NOT NULL,
  value bigint NOT NULL,
  PRIMARY KEY(realm, key));
-- Version 4: the realm's identity (docs/protocol.md §2, trust), shared by every process that
-- serves the realm: its secret signing key, and the keys it pinned for other realms (seq: the
-- order pinned).
CREATE TABLE IF NOT EXISTS realmchat.signing_keys(
  realm text PRIMARY KEY,
  secret text NOT NULL);
CREATE TABLE IF NOT EXISTS realmchat.pins(
  realm text NOT NULL,
  pinned_realm text NOT NULL,
  public_key text NOT NULL,
  seq bigserial,
  PRIMARY KEY(realm, pinned_realm));
CREATE TABLE IF NOT EXISTS realmchat.lease(
  realm text PRIMARY KEY,
  holder text NOT NULL,
  epoch bigint NOT NULL,
  expires timestamptz NOT NULL);
-- Fencing: the first statement of every commit of a lease holder. FOR SHARE keeps the lease
-- row from changing until the transaction ends, so a takeover waits for a commit in flight
-- and every later commit of the old holder fails here.
CREATE OR REPLACE FUNCTION realmchat.fence(p_realm text, p_epoch bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM realmchat.lease WHERE realm = p_realm AND epoch = p_epoch FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'realm % is served by another process now (lease epoch % is over)',
      p_realm, p_epoch USING ERRCODE = 'RCFEN';
  END IF;
END $$;
-- Version 5: the first statement of every commit, one where there were three: the fence (for a
-- lease holder; epoch 0: none) and the batch's meta rows, its marker and the highest id it
-- stores (0: none; the highest ever wins). The fence stays first, so that a fenced-out holder
-- fails on it rather than on rows the new holder wrote meanwhile.
CREATE OR REPLACE FUNCTION realmchat.start_batch(p_realm text, p_epoch bigint, p_max_id bigint,
  p_marker bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF p_epoch <> 0 THEN
    PERFORM realmchat.fence(p_realm, p_epoch);
  END IF;
  INSERT INTO realmchat.meta AS m(realm, key, value)
    SELECT p_realm, v.key, v.value FROM (VALUES ('batch', p_marker), ('max_id', p_max_id))
      AS v(key, value) WHERE v.key = 'batch' OR p_max_id > 0
  ON CONFLICT(realm, key) DO UPDATE SET value = CASE WHEN m.key = 'max_id'
    THEN greatest(m.value, excluded.value) ELSE excluded.value END;
END $$;
)sql";

}  // namespace

void prepare_schema(Connection& connection) {
  connection.exec("BEGIN");
  try {
    connection.exec((std::string("SELECT pg_advisory_xact_lock(") + lock_key + ")").c_str());
    connection.exec("CREATE SCHEMA IF NOT EXISTS realmchat");
    connection.exec("CREATE TABLE IF NOT EXISTS realmchat.schema_version(version integer)");
    Result current =
        connection.exec("SELECT coalesce(max(version), 0) FROM realmchat.schema_version");
    const int version = std::stoi(PQgetvalue(current.get(), 0, 0));
    if (version > schema_version) {
      throw StoreError("the database has realmchat schema version " + std::to_string(version) +
                       ", newer than this program's " + std::to_string(schema_version));
    }
    if (version < schema_version) {
      connection.exec(schema_sql);
      connection.exec("DELETE FROM realmchat.schema_version");
      connection.exec(
          ("INSERT INTO realmchat.schema_version VALUES(" + std::to_string(schema_version) + ")")
              .c_str());
    }
    connection.exec("COMMIT");
  } catch (...) {
    if (!connection.broken()) PQclear(PQexec(connection.get(), "ROLLBACK"));
    throw;
  }
}

}  // namespace chat::store::pg
