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
    // Three connections at least: a GC run holds one (the GC lock) while its
    // outbox drain holds another (with_outbox_lock) and queries on a third.
    : SqlMetadataStore(options.clock, options.claims, url,
                       std::max<std::size_t>(3, options.max_connections), options.max_attempts) {}

Result<std::unique_ptr<PostgresMetadataStore>>
PostgresMetadataStore::open(const std::string& url, PostgresMetadataOptions options) {
    if (!options.clock)
        options.clock = system_clock_now;
    int target = options.schema_version == 0 ? latest_schema_version() : options.schema_version;
    std::unique_ptr<PostgresMetadataStore> store(
        new PostgresMetadataStore(url, std::move(options)));
    {
        auto lease = store->pool_.acquire();
        if (!lease)
            return lease.error();
        if (auto migrated = postgres_migrate(**lease, target, store->clock_()); !migrated)
            return migrated.error();
    }
    // A store held at an older schema (tests of migrations) has no writers table.
    if (target == latest_schema_version())
        if (auto registered = store->register_writer(); !registered)
            return registered.error();
    return store;
}

Result<int> PostgresMetadataStore::schema_version() {
    auto lease = pool_.acquire();
    if (!lease)
        return lease.error();
    return postgres_schema_version(**lease);
}

// Session advisory locks, held on a connection of the pool for the whole of
// fn (which uses others). If that connection breaks, the server releases the
// lock with it. Per schema, like the migration lock.
Result<bool> PostgresMetadataStore::with_advisory_lock(std::string_view name, bool wait,
                                                       const std::function<Result<void>()>& fn) {
    const auto key =
        "hashtextextended('nixedge " + std::string(name) + " ' || current_schema(), 0)";
    auto lease = pool_.acquire();
    if (!lease)
        return lease.error();
    auto take =
        std::string(wait ? "SELECT pg_advisory_lock(" : "SELECT pg_try_advisory_lock(") + key + ")";
    auto q = (*lease)->query(take);
    auto row = q.step();
    if (!row)
        return make_error(ErrorCode::database_unavailable,
                          "cannot take the " + std::string(name) + " lock: " + row.error().detail);
    if (!wait && !q.boolean(0))
        return false;
    auto result = fn();
    if (!(*lease)->broken())
        (void)(*lease)->exec(("SELECT pg_advisory_unlock(" + key + ")").c_str());
    if (!result)
        return result.error();
    return true;
}

Result<void> PostgresMetadataStore::with_outbox_lock(const std::function<Result<void>()>& fn) {
    auto ran = with_advisory_lock("outbox", true, fn);
    if (!ran)
        return ran.error();
    return {};
}

Result<bool> PostgresMetadataStore::try_with_gc_lock(const std::function<Result<void>()>& fn) {
    return with_advisory_lock("gc", false, fn);
}

} // namespace nixedge::lab
