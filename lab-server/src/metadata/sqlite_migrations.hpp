// The SQLite schema as an ordered list of versioned steps. A database records
// the steps it has applied in schema_migrations; opening it applies the rest,
// each step in its own transaction with its row in schema_migrations, so a
// crash mid-migration leaves the last complete version.
//
// PostgreSQL has its own list (postgres_migrations.hpp) with the same version
// numbers, descriptions, tables and columns (only types and syntax differ),
// so one SqlMetadataStore serves both.
#pragma once

#include "metadata/metadata_store.hpp"
#include "metadata/sqlite_connection.hpp"

#include <span>
#include <string_view>

namespace nixedge::lab {

struct Migration {
    int version;                  // 1, 2, 3... with no gaps
    std::string_view description; // recorded in schema_migrations
    const char* sql;              // one or more statements
};

std::span<const Migration> sqlite_migrations();
int latest_schema_version();

// The version recorded in the database (0 for a new one).
Result<int> schema_version(SqliteConnection& connection);

// Applies the steps after the current version up to `target`; returns the
// version reached. Safe when several processes open a database at once: each
// step re-reads the version under the write lock. A database newer than this
// build is refused (database_unavailable): old code must not write to it.
Result<int> migrate(SqliteConnection& connection, int target, UnixTime now);

} // namespace nixedge::lab
