#include "store/postgres_lease.hpp"

#include <libpq-fe.h>

#include <string>
#include <vector>

#include "store/postgres_connection.hpp"
#include "store/postgres_schema.hpp"

namespace chat::store {

struct PostgresLease::Impl {
  Impl(std::string url, std::string realm_name, std::string holder_name,
       std::chrono::milliseconds lease_duration)
      // A connection that hangs longer than the lease is of no use to the lease.
      : connection(std::move(url), lease_duration),
        realm(std::move(realm_name)),
        holder(std::move(holder_name)),
        duration(std::to_string(lease_duration.count())) {}

  // One statement on a (re)opened connection.
  pg::Result run(const char* sql, const std::vector<std::string>& params) {
    if (connection.ensure()) pg::prepare_schema(connection);
    try {
      return connection.exec(sql, params);
    } catch (const pg::ConnectionLost&) {
      connection.close();
      throw;
    }
  }

  pg::Connection connection;
  std::string realm;
  std::string holder;
  std::string duration;  // milliseconds
};

PostgresLease::PostgresLease(std::string url, std::string realm, std::string holder,
                             std::chrono::milliseconds duration)
    : impl_(std::make_unique<Impl>(std::move(url), std::move(realm), std::move(holder), duration)) {
  impl_->connection.ensure();
  pg::prepare_schema(impl_->connection);
}

PostgresLease::~PostgresLease() = default;

std::optional<std::uint64_t> PostgresLease::try_acquire() {
  // A new row, or the expired row of a previous holder with the epoch raised.
  pg::Result taken = impl_->run(
      "INSERT INTO realmchat.lease AS l(realm, holder, epoch, expires) "
      "VALUES($1, $2, 1, now() + $3 * interval '1 millisecond') "
      "ON CONFLICT(realm) DO UPDATE SET holder = excluded.holder, epoch = l.epoch + 1, "
      "expires = excluded.expires WHERE l.expires < now() RETURNING epoch",
      {impl_->realm, impl_->holder, impl_->duration});
  if (PQntuples(taken.get()) == 0) return std::nullopt;
  return std::stoull(PQgetvalue(taken.get(), 0, 0));
}

bool PostgresLease::renew(std::uint64_t epoch) {
  pg::Result renewed = impl_->run(
      "UPDATE realmchat.lease SET expires = now() + $3 * interval '1 millisecond' "
      "WHERE realm = $1 AND epoch = $2 RETURNING epoch",
      {impl_->realm, std::to_string(epoch), impl_->duration});
  return PQntuples(renewed.get()) == 1;
}

void PostgresLease::release(std::uint64_t epoch) {
  impl_->run(
      "UPDATE realmchat.lease SET expires = now() - interval '1 second' "
      "WHERE realm = $1 AND epoch = $2",
      {impl_->realm, std::to_string(epoch)});
}

}  // namespace chat::store
