// The PostgreSQL schema: the same versioned steps as SQLite's
// (sqlite_migrations.hpp), in PostgreSQL's dialect. Versions and
// descriptions are SQLite's, so both databases record one schema history.
#pragma once

#include "metadata/postgres_connection.hpp"
#include "metadata/sqlite_migrations.hpp"

#include <span>

namespace nixedge::lab {

struct PostgresMigration {
    int version;     // the SQLite step with this version is its twin
    const char* sql; // one or more statements
};

std::span<const PostgresMigration> postgres_migrations();

// The version recorded in the database (0 for a new one).
Result<int> postgres_schema_version(PostgresConnection& connection);

// Applies the steps after the current version up to `target` in one
// transaction under an advisory lock (several replicas may start at once);
// returns the version reached. A database newer than this build is refused
// (database_unavailable).
Result<int> postgres_migrate(PostgresConnection& connection, int target, UnixTime now);

} // namespace nixedge::lab
