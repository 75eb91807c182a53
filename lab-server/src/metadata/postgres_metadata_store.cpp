// Opening a PostgreSQL database, and the outbox lock; everything else is
// SqlMetadataStore's (sql_metadata_store.hpp), instantiated here for
// PostgreSQL.
#include "metadata/postgres_metadata_store.hpp"

#include "metadata/postgres_migrations.hpp"
#include "metadata/sql_metadata_store_impl.hpp"

#include <algorithm>

namespace nixedge::lab {

template class SqlMetadataStore<PostgresPool>;

PostgresMetadataStore::PostgresMetadataStore(const std::string& url,
                                             PostgresMetadataOptions options)
    // Two connections at least: with_outbox_lock holds one while the drain
    // uses another.
    : SqlMetadataStore(options.clock, options.chunk_claim_timeout, url,
                       std::max<std::size_t>(2, options.max_connections), options.max_attempts) {}

Result<std::unique_ptr<PostgresMetadataStore>>
PostgresMetadataStore::open(const std::string& url, PostgresMetadataOptions options) {
    if (!options.clock)
        options.clock = system_clock_now;
    int target = options.schema_version == 0 ? latest_schema_version() : options.schema_version;
    std::unique_ptr<PostgresMetadataStore> store(
        new PostgresMetadataStore(url, std::move(options)));
    auto lease = store->pool_.acquire();
    if (!lease)
        return lease.error();
    if (auto migrated = postgres_migrate(**lease, target, store->clock_()); !migrated)
        return migrated.error();
    return store;
}

Result<int> PostgresMetadataStore::schema_version() {
    auto lease = pool_.acquire();
    if (!lease)
        return lease.error();
    return postgres_schema_version(**lease);
}

// A session advisory lock, held on a connection of the pool for the whole
// drain (fn uses others). If that connection breaks, the server releases the
// lock with it.
Result<void> PostgresMetadataStore::with_outbox_lock(const std::function<Result<void>()>& fn) {
    constexpr const char* key = "hashtextextended('nixedge outbox ' || current_schema(), 0)";
    auto lease = pool_.acquire();
    if (!lease)
        return lease.error();
    if (auto locked = (*lease)->exec((std::string("SELECT pg_advisory_lock(") + key + ")").c_str());
        !locked)
        return make_error(ErrorCode::database_unavailable,
                          "cannot take the outbox lock: " + locked.error().detail);
    auto result = fn();
    if (!(*lease)->broken())
        (void)(*lease)->exec((std::string("SELECT pg_advisory_unlock(") + key + ")").c_str());
    return result;
}

} // namespace nixedge::lab
