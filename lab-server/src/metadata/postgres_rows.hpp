// Pieces shared by the PostgresMetadataStore files: hash spelling, cache rows,
// and the outbox entries that several transactions enqueue (the twin of
// sqlite_rows.hpp). Internal to the PostgreSQL store; each helper runs inside the caller's
// transaction.
#pragma once

#include "metadata/metadata_store.hpp"
#include "metadata/postgres_connection.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::postgres_rows {

// Hashes are stored as lowercase hex, the spelling of the bucket keys.
std::string hex(const Sha256Digest& digest);
// internal if the database holds a malformed hash.
Result<Sha256Digest> digest_from_hex(std::string_view text);

// The first column of the one row a query returns, if it returns one.
Result<std::optional<std::string>> single_text(PostgresQuery& q);
// The first column of every row a query returns.
Result<std::vector<std::string>> all_texts(PostgresQuery& q);

std::string_view to_db(KeyState state);
std::string_view to_db(OutboxOp op);

struct CacheRow {
    std::int64_t id = 0;
    std::string name;
    CacheSettings settings;
    UnixTime created_at = 0;
};

Result<std::optional<CacheRow>> find_cache(PostgresConnection& c, std::string_view name);
// not_found when there is no such cache.
Result<CacheRow> require_cache(PostgresConnection& c, std::string_view name);
// The row with its keys.
Result<Cache> load_cache(PostgresConnection& c, CacheRow row);

// Returns the new entry's id.
Result<std::int64_t> enqueue(PostgresConnection& c, OutboxOp op, std::string_view key,
                             std::optional<std::string_view> payload, UnixTime now);
// The edge objects of one path: its narinfo and listing.
Result<void> enqueue_path_objects(PostgresConnection& c, const CacheRow& cache,
                                  std::string_view store_hash, OutboxOp op, UnixTime now);
// Every edge object of a cache: each path's objects and nix-cache-info, with
// `op` (regenerate when it joins the edge, remove when it leaves).
Result<void> enqueue_cache_objects(PostgresConnection& c, const CacheRow& cache, OutboxOp op,
                                   UnixTime now);
// The sync plan follows any change to what the edge should hold.
Result<void> enqueue_sync_plan(PostgresConnection& c, UnixTime now);

} // namespace nixedge::lab::postgres_rows
