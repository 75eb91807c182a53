// MetadataStore on PostgreSQL: what several replicas share. The same
// semantics as PostgresMetadataStore (the same tests run against both), the
// same schema history (postgres_migrations.cpp), a bounded connection pool
// with the transaction kinds of postgres_pool.hpp, and recovery from a
// database restart (a broken connection is dropped and the transaction run
// again once where nothing can have committed).
// The store logic itself is SqlMetadataStore's, shared with SQLite.
#pragma once

#include "metadata/postgres_pool.hpp"
#include "metadata/sql_metadata_store.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace nixedge::lab {

struct PostgresMetadataOptions {
    // Connections this process may hold (readers and writers alike), at
    // least 3. Every replica's pool counts against the server's
    // max_connections. The server takes it from [database] max_connections.
    std::size_t max_connections = 8;
    // Runs of a write transaction that keeps hitting serialization failures
    // or deadlocks before the caller gets database_unavailable.
    int max_attempts = 12;
    // When a chunk claim is dead and may be taken over.
    ClaimRules claims;
    // Tests replace it to move time.
    Clock clock = system_clock_now;
    // Tests stop at an older schema version to exercise migrations.
    int schema_version = 0; // 0: the latest
};

class PostgresMetadataStore final : public SqlMetadataStore<PostgresPool> {
  public:
    // Connects (postgresql://user:password@host:port/db...) and applies
    // pending migrations. database_unavailable, without the password, if the
    // server cannot be reached or refuses the login.
    static Result<std::unique_ptr<PostgresMetadataStore>>
    open(const std::string& url, PostgresMetadataOptions options = {});

    // Connections open now, for tests of the pool.
    std::size_t open_connections() { return pool_.open_connections(); }

    Result<int> schema_version();

    Result<void> with_outbox_lock(const std::function<Result<void>()>& fn) override;
    Result<bool> try_with_gc_lock(const std::function<Result<void>()>& fn) override;

  private:
    PostgresMetadataStore(const std::string& url, PostgresMetadataOptions options);
    // false if !wait and another session holds it.
    Result<bool> with_advisory_lock(std::string_view name, bool wait,
                                    const std::function<Result<void>()>& fn);
};

} // namespace nixedge::lab
