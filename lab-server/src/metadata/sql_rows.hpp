// Pieces shared by the SqlMetadataStore files: hash spelling, cache rows,
// and the outbox entries that several transactions enqueue. Each helper runs
// inside the caller's transaction, on a SqliteConnection or a
// PostgresConnection (they offer the same calls), hence the templates.
#pragma once

#include "metadata/metadata_store.hpp"
#include "nixedge/bucket_layout.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::sql_rows {

// Hashes are stored as lowercase hex, the spelling of the bucket keys.
std::string hex(const Sha256Digest& digest);
// internal if the database holds a malformed hash.
Result<Sha256Digest> digest_from_hex(std::string_view text);

std::string_view to_db(KeyState state);
std::string_view to_db(OutboxOp op);

// upstream_key_names: space-separated in one column.
std::vector<std::string> split_names(const std::string& text);

struct CacheRow {
    std::int64_t id = 0;
    std::string name;
    CacheSettings settings;
    UnixTime created_at = 0;
};

// The first column of the one row a query returns, if it returns one.
template <class Query> Result<std::optional<std::string>> single_text(Query& q) {
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row)
        return std::optional<std::string>();
    return std::optional<std::string>(q.text(0));
}

// The first column of every row a query returns.
template <class Query> Result<std::vector<std::string>> all_texts(Query& q) {
    std::vector<std::string> texts;
    for (;;) {
        auto row = q.step();
        if (!row)
            return row.error();
        if (!*row)
            return texts;
        texts.push_back(q.text(0));
    }
}

template <class Query> CacheSettings read_settings(const Query& q, int first) {
    CacheSettings s;
    s.is_public = q.boolean(first);
    s.edge_enabled = q.boolean(first + 1);
    s.priority = q.int64(first + 2);
    s.retention_seconds = q.int64(first + 3);
    s.allow_upstream_references = q.boolean(first + 4);
    s.upstream_key_names = split_names(q.text(first + 5));
    return s;
}

template <class Connection>
Result<std::optional<CacheRow>> find_cache(Connection& c, std::string_view name) {
    auto q = c.query("SELECT id, name, created_at, is_public, edge_enabled, priority, "
                     "retention_seconds, allow_upstream_references, upstream_key_names "
                     "FROM caches WHERE name = ?",
                     name);
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row)
        return std::optional<CacheRow>();
    return std::optional<CacheRow>(
        CacheRow{q.int64(0), q.text(1), read_settings(q, 3), q.int64(2)});
}

// not_found when there is no such cache.
template <class Connection> Result<CacheRow> require_cache(Connection& c, std::string_view name) {
    auto row = find_cache(c, name);
    if (!row)
        return row.error();
    if (!*row)
        return make_error(ErrorCode::not_found, "no cache '" + std::string(name) + "'");
    return std::move(**row);
}

// The row with its keys.
template <class Connection> Result<Cache> load_cache(Connection& c, CacheRow row) {
    Cache cache{row.id, std::move(row.name), std::move(row.settings), row.created_at, {}};
    auto q = c.query("SELECT key_name, secret_key, public_key, state, created_at "
                     "FROM cache_keys WHERE cache_id = ? ORDER BY created_at, id",
                     cache.id);
    while (true) {
        auto next = q.step();
        if (!next)
            return next.error();
        if (!*next)
            return cache;
        auto state = q.text(3) == "retiring" ? KeyState::retiring : KeyState::active;
        cache.keys.push_back(CacheKey{q.text(0), q.text(1), q.text(2), state, q.int64(4)});
    }
}

// Returns the new entry's id.
template <class Connection>
Result<std::int64_t> enqueue(Connection& c, OutboxOp op, std::string_view key,
                             std::optional<std::string_view> payload, UnixTime now) {
    auto q = c.query("INSERT INTO outbox (op, object_key, payload, created_at) "
                     "VALUES (?, ?, ?, ?) RETURNING id");
    q.bind(to_db(op)).bind(key);
    if (payload)
        q.bind_blob(as_bytes(*payload));
    else
        q.bind(std::nullopt);
    q.bind(now);
    auto row = q.step();
    if (!row)
        return row.error();
    return q.int64(0);
}

// The edge objects of one path: its narinfo and listing.
template <class Connection>
Result<void> enqueue_path_objects(Connection& c, const CacheRow& cache, std::string_view store_hash,
                                  OutboxOp op, UnixTime now) {
    if (auto ok = enqueue(c, op, bucket_key::narinfo(cache.name, store_hash), {}, now); !ok)
        return ok.error();
    if (auto ok = enqueue(c, op, bucket_key::listing(cache.name, store_hash), {}, now); !ok)
        return ok.error();
    return {};
}

// Every edge object of a cache: each path's objects and nix-cache-info, with
// `op` (regenerate when it joins the edge, remove when it leaves).
template <class Connection>
Result<void> enqueue_cache_objects(Connection& c, const CacheRow& cache, OutboxOp op,
                                   UnixTime now) {
    // Keys are built by bucket_key, not concatenated in SQL: one module names
    // every object. Hashes are collected first, as inserting into the outbox
    // while stepping over paths would interleave two statements' work.
    auto q = c.query("SELECT store_hash FROM paths WHERE cache_id = ? ORDER BY id", cache.id);
    auto hashes = all_texts(q);
    if (!hashes)
        return hashes.error();
    for (const auto& hash : *hashes)
        if (auto ok = enqueue_path_objects(c, cache, hash, op, now); !ok)
            return ok;
    if (auto ok = enqueue(c, op, bucket_key::nix_cache_info(cache.name), {}, now); !ok)
        return ok.error();
    return {};
}

// A NAR that no path and no staged upload uses any more starts its GC grace
// period now (unless it had already). Called by whatever removes a user.
template <class Connection>
Result<void> mark_nar_if_unused(Connection& c, const std::string& manifest_hash, UnixTime now) {
    return c.run("UPDATE nars SET unused_since = ? WHERE manifest_hash = ? "
                 "AND unused_since IS NULL "
                 "AND NOT EXISTS (SELECT 1 FROM paths WHERE manifest_hash = ?) "
                 "AND NOT EXISTS (SELECT 1 FROM staged_uploads WHERE manifest_hash = ?)",
                 now, manifest_hash, manifest_hash, manifest_hash);
}

// The same for a chunk that no recorded NAR lists any more.
template <class Connection>
Result<void> mark_chunk_if_unused(Connection& c, const std::string& hash, UnixTime now) {
    return c.run("UPDATE chunks SET unused_since = ? WHERE hash = ? AND unused_since IS NULL "
                 "AND NOT EXISTS (SELECT 1 FROM nar_chunks WHERE chunk_hash = ?)",
                 now, hash, hash);
}

// The sync plan keeps listing a NAR (manifest and chunks) until `until`:
// a path of an edge cache that used it is gone, but an edge may still
// serve a cached narinfo that names it.
template <class Connection>
Result<void> keep_nar_on_edge(Connection& c, const std::string& manifest_hash, UnixTime until) {
    return c.run("UPDATE nars SET edge_keep_until = ? WHERE manifest_hash = ? "
                 "AND (edge_keep_until IS NULL OR edge_keep_until < ?)",
                 until, manifest_hash, until);
}

// A NAR a path or staged upload is about to use: not_found if GC is
// deleting it (its manifest object may be gone), else whether it is in its
// grace period (unused). Only reads: under PostgreSQL, this read and GC's
// marking of the NAR (both serializable) cannot both commit; the caller takes
// an unused NAR out of its grace period after its commit
// (SqlMetadataStore::note_nar_used).
template <class Connection>
Result<bool> require_usable_nar(Connection& c, const std::string& manifest_hash) {
    auto q = c.query("SELECT deleting_since, unused_since FROM nars WHERE manifest_hash = ?",
                     manifest_hash);
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row || !q.is_null(0))
        return make_error(ErrorCode::not_found,
                          "no NAR with manifest " + manifest_hash + " (upload the NAR again)");
    return !q.is_null(1);
}

// The sync plan follows any change to what the edge should hold.
template <class Connection> Result<void> enqueue_sync_plan(Connection& c, UnixTime now) {
    if (auto ok = enqueue(c, OutboxOp::regenerate, bucket_key::sync_plan(), {}, now); !ok)
        return ok.error();
    return {};
}

} // namespace nixedge::lab::sql_rows
