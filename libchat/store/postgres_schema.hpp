#pragma once
#include <chrono>

namespace chat::store::pg {

class Connection;

// The tables of every realm on one database (schema `realmchat`), version 5. Each has a `realm`
// column first in its key, so realms share tables without seeing each other's rows. `seq`
// columns keep creation order (SqliteStore's rowid). The lease table and realmchat.fence()
// are the failover's (docs/architecture.md "Lease and fencing").
inline constexpr int schema_version = 5;

// Creates or upgrades the schema, under an advisory lock so that realmd processes starting
// together do not race. Throws StoreError for a schema newer than this program's.
void prepare_schema(Connection& connection);

}  // namespace chat::store::pg
