// MetadataStore on SQLite: the embedded default, one file beside the data.
// WAL, synchronous=FULL (a commit is on disk before a push is acknowledged),
// foreign keys on, busy_timeout for other processes. Threading: see
// sqlite_pool.hpp. Schema: sqlite_migrations.cpp and docs/metadata-schema.md.
#pragma once

#include "metadata/sql_metadata_store.hpp"
#include "metadata/sqlite_pool.hpp"

#include <chrono>
#include <filesystem>
#include <memory>

namespace nixedge::lab {

struct SqliteMetadataOptions {
    // Readers in parallel; one writer at a time whatever this says. The
    // server takes it from [database] max_connections.
    std::size_t max_connections = 8;
    // How long a statement waits for another process's write lock.
    std::chrono::milliseconds busy_timeout{10'000};
    // When a chunk claim is dead and may be taken over.
    ClaimRules claims;
    // Tests replace it to move time.
    Clock clock = system_clock_now;
    // Tests stop at an older schema version to exercise migrations.
    int schema_version = 0; // 0: the latest
};

class SqliteMetadataStore final : public SqlMetadataStore<SqlitePool> {
  public:
    // Opens (creating if needed) the database, switches it to WAL and applies
    // pending migrations.
    static Result<std::unique_ptr<SqliteMetadataStore>> open(const std::filesystem::path& path,
                                                             SqliteMetadataOptions options = {});

    Result<int> schema_version();

    Result<void> with_outbox_lock(const std::function<Result<void>()>& fn) override;
    Result<bool> try_with_gc_lock(const std::function<Result<void>()>& fn) override;

  private:
    SqliteMetadataStore(const std::filesystem::path& path, SqliteMetadataOptions options);
    // false if !wait and another process (or open file) holds it.
    Result<bool> with_file_lock(std::string_view name, bool wait,
                                const std::function<Result<void>()>& fn);

    std::filesystem::path path_;
};

} // namespace nixedge::lab
