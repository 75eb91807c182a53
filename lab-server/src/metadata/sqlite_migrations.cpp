#include "metadata/sqlite_migrations.hpp"

#include <array>
#include <string>

namespace nixedge::lab {

namespace {

// Conventions for every step (they keep the PostgreSQL port mechanical):
// - hashes are lowercase hex TEXT (64 characters), the spelling of the bucket
//   keys, so a row and its object are found by the same string;
// - times are INTEGER seconds since the epoch (BIGINT in PostgreSQL);
// - flags are INTEGER 0/1 with a CHECK (BOOLEAN in PostgreSQL);
// - surrogate ids are INTEGER PRIMARY KEY (an identity column in PostgreSQL);
// - only standard SQL plus ON CONFLICT, which both databases have.
// A future step that rebuilds a table (SQLite's ALTER TABLE cannot drop a
// constraint) must run with foreign keys off and check them before commit.

constexpr const char* caches_and_keys = R"sql(
-- A cache is named in URLs and bucket keys, but rows elsewhere point at its
-- surrogate id: they stay small, and a cache destroyed and re-created under
-- the same name is a new cache that can never inherit the old one's rows.
CREATE TABLE caches (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    is_public INTEGER NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),
    -- The edge gets the cache only when it is public AND edge-enabled.
    edge_enabled INTEGER NOT NULL DEFAULT 0 CHECK (edge_enabled IN (0, 1)),
    -- nix-cache-info Priority: 41 by default, so cache.nixos.org (40) is asked first.
    priority INTEGER NOT NULL DEFAULT 41 CHECK (priority >= 0),
    -- GC removes unpinned paths pushed longer ago than this; 0 keeps them forever.
    retention_seconds INTEGER NOT NULL DEFAULT 0 CHECK (retention_seconds >= 0),
    allow_upstream_references INTEGER NOT NULL DEFAULT 0
        CHECK (allow_upstream_references IN (0, 1)),
    -- Space-separated key names (a key name never contains a space). Read and
    -- written whole, never searched, so a column rather than a table.
    upstream_key_names TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- Signing keys. Several per cache during a rotation: the new key is active,
-- the old one retiring; both sign (two Sig lines) until the old one goes.
CREATE TABLE cache_keys (
    id INTEGER PRIMARY KEY,
    cache_id INTEGER NOT NULL REFERENCES caches (id) ON DELETE CASCADE,
    key_name TEXT NOT NULL,
    -- How secret_key is held: 'plain' is "name:base64". Encryption at rest
    -- will add schemes without touching the rows already written.
    secret_encoding TEXT NOT NULL DEFAULT 'plain',
    secret_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'retiring')),
    created_at INTEGER NOT NULL,
    UNIQUE (cache_id, key_name)
);
)sql";

constexpr const char* chunks_and_nars = R"sql(
-- Chunks are global and content-addressed: one row and one object
-- (chunks/<hash>) per distinct raw chunk, shared by every NAR of every cache.
-- A writer claims the row BEFORE uploading; the first claim wins and the
-- others reuse it, so an object is written once and its stored size (the
-- zstd frame of whoever won) never changes.
CREATE TABLE chunks (
    hash TEXT PRIMARY KEY, -- SHA-256 of the raw bytes
    raw_size INTEGER NOT NULL CHECK (raw_size > 0),
    stored_size INTEGER NOT NULL CHECK (stored_size > 0),
    -- claimed: being uploaded; stored: the object is durable and final.
    -- GC deletes a chunk under a claim of its own (migration 5).
    state TEXT NOT NULL CHECK (state IN ('claimed', 'stored')),
    -- A claim older than the claim timeout is presumed dead (its writer
    -- crashed) and may be taken over; the takeover bumps claim_id so the
    -- old writer, if merely slow, cannot mark the chunk stored.
    claim_id INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL,
    stored_at INTEGER
);
-- Finding dead claims without scanning every stored chunk.
CREATE INDEX chunks_claimed_at ON chunks (claimed_at) WHERE state = 'claimed';

-- A NAR as stored: its manifest (manifests/<manifest_hash>, also the narinfo
-- URL nar/<manifest_hash>.nar.zst). Immutable once recorded. Global like
-- chunks: which caches may serve it is decided by their paths.
CREATE TABLE nars (
    manifest_hash TEXT PRIMARY KEY,
    nar_hash TEXT NOT NULL,
    nar_size INTEGER NOT NULL CHECK (nar_size >= 0),
    -- Sum of the chunks' stored sizes: FileSize and the NAR's Content-Length.
    file_size INTEGER NOT NULL CHECK (file_size >= 0),
    chunk_count INTEGER NOT NULL CHECK (chunk_count >= 0),
    created_at INTEGER NOT NULL
);
-- An upload whose NarHash is already stored can skip chunking (Attic's
-- "Deduplicated" answer).
CREATE INDEX nars_nar_hash ON nars (nar_hash);

-- The manifest's chunk list, so the lab serves and fsck rebuilds a NAR from
-- the database alone. No ON DELETE on chunk_hash: a chunk still listed here
-- cannot be deleted, whatever GC gets wrong.
CREATE TABLE nar_chunks (
    manifest_hash TEXT NOT NULL REFERENCES nars (manifest_hash) ON DELETE CASCADE,
    seq INTEGER NOT NULL CHECK (seq >= 0), -- position in the NAR, from 0
    chunk_hash TEXT NOT NULL REFERENCES chunks (hash),
    PRIMARY KEY (manifest_hash, seq)
);
-- GC's reference count of a chunk is a count over this index, taken when GC
-- runs, rather than a counter column that every concurrent push of a popular
-- chunk would have to update (a hot row under PostgreSQL).
CREATE INDEX nar_chunks_chunk_hash ON nar_chunks (chunk_hash);

-- NAR listings (.ls) live in the database: a listing is a function of the
-- NAR's content, so it is kept once per manifest rather than per cache and
-- path, it is known at ingest (before any narinfo names a store path), and
-- the outbox can write <cache>/<hash>.ls for edge caches from it at any time.
-- Its own table keeps scans of nars narrow.
CREATE TABLE nar_listings (
    manifest_hash TEXT PRIMARY KEY REFERENCES nars (manifest_hash) ON DELETE CASCADE,
    listing TEXT NOT NULL
);
)sql";

constexpr const char* staged_uploads_and_paths = R"sql(
-- Nix uploads a NAR first and its narinfo later, possibly to another replica:
-- the upload waits here, under the URL Nix chose, until the narinfo publishes
-- it or it expires. The foreign key to nars protects the NAR from GC while
-- it is staged.
CREATE TABLE staged_uploads (
    cache_id INTEGER NOT NULL REFERENCES caches (id) ON DELETE CASCADE,
    url TEXT NOT NULL, -- e.g. nar/<filehash>.nar.zst
    manifest_hash TEXT NOT NULL REFERENCES nars (manifest_hash),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (cache_id, url)
);
CREATE INDEX staged_uploads_expires_at ON staged_uploads (expires_at);
CREATE INDEX staged_uploads_manifest_hash ON staged_uploads (manifest_hash);

-- Published narinfos: one row per (cache, store hash), immutable once
-- inserted. The signed text is stored and served as is (no signing per
-- request); the other columns are what queries and GC need from it.
CREATE TABLE paths (
    id INTEGER PRIMARY KEY,
    cache_id INTEGER NOT NULL REFERENCES caches (id) ON DELETE CASCADE,
    store_hash TEXT NOT NULL,
    store_path TEXT NOT NULL, -- /nix/store/<hash>-<name>
    -- No ON DELETE: a NAR that a path uses cannot be deleted.
    manifest_hash TEXT NOT NULL REFERENCES nars (manifest_hash),
    nar_hash TEXT NOT NULL, -- hex, as in nars; compared on re-push
    nar_size INTEGER NOT NULL,
    deriver TEXT, -- base name, NULL when absent
    ca TEXT,      -- NULL when absent
    narinfo TEXT NOT NULL,
    pushed_at INTEGER NOT NULL,
    -- Lab reads only (the edge never reaches the lab), written in batches.
    last_accessed_at INTEGER NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    UNIQUE (cache_id, store_hash)
);
-- GC by retention walks a cache's paths oldest first.
CREATE INDEX paths_cache_pushed_at ON paths (cache_id, pushed_at);
-- "Does this cache serve this NAR?" and "does any path still use it?".
CREATE INDEX paths_manifest_hash ON paths (manifest_hash);

-- References as rows rather than a text column: GC must ask "which paths
-- still refer to this one?" before it removes a path, and publishing asks
-- "are these references in the cache?". A reference is not a foreign key to
-- paths: it may name a path of an upstream cache, and a path may refer to
-- itself.
CREATE TABLE path_references (
    path_id INTEGER NOT NULL REFERENCES paths (id) ON DELETE CASCADE,
    reference_hash TEXT NOT NULL, -- store hash of the referenced path
    reference TEXT NOT NULL,      -- its base name, <hash>-<name>
    PRIMARY KEY (path_id, reference_hash)
);
CREATE INDEX path_references_reference_hash ON path_references (reference_hash);
)sql";

constexpr const char* outbox = R"sql(
-- Bucket writes and deletes owed to the edge, enqueued in the same
-- transaction as the change that needs them (the commit is the publish
-- point), drained in id order before a push is acknowledged and at start-up.
-- AUTOINCREMENT: ids are never reused, so a drainer completing an old id can
-- never remove a newer entry.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- put: write payload; delete: remove the key; regenerate: rebuild the
    -- object from the database as it is when drained (narinfos, listings,
    -- nix-cache-info, sync/plan), so no payload is copied and a stale entry
    -- can only write the current truth.
    op TEXT NOT NULL CHECK (op IN ('put', 'delete', 'regenerate')),
    object_key TEXT NOT NULL,
    payload BLOB,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at INTEGER
);
-- Coalescing repeated regenerations of one key (sync/plan) when draining.
CREATE INDEX outbox_object_key ON outbox (object_key);
)sql";

constexpr const char* garbage_collection = R"sql(
-- GC never counts references over whole tables: a NAR or chunk that nothing
-- uses carries the time it became unused, set by whatever removed its last
-- user (a path, a staged upload, a NAR) and cleared or refreshed by whatever
-- starts using it again (a publish, a stage, a claim, a recorded NAR). GC
-- removes what has been unused for longer than its grace period, found
-- through the partial indexes below.
ALTER TABLE nars ADD COLUMN unused_since INTEGER;
-- Set while GC removes the NAR (its manifest object may already be gone):
-- a push of the same NAR waits for GC to finish, or revives a mark left by
-- a GC that died.
ALTER TABLE nars ADD COLUMN deleting_since INTEGER;
-- A NAR a path of an edge cache used until it was removed: the sync plan
-- keeps listing its manifest and chunks until then, because an edge may
-- still serve a cached narinfo that names it.
ALTER TABLE nars ADD COLUMN edge_keep_until INTEGER;
ALTER TABLE chunks ADD COLUMN unused_since INTEGER;
UPDATE nars SET unused_since = CAST(strftime('%s', 'now') AS INTEGER)
    WHERE NOT EXISTS (SELECT 1 FROM paths p WHERE p.manifest_hash = nars.manifest_hash)
    AND NOT EXISTS (SELECT 1 FROM staged_uploads s WHERE s.manifest_hash = nars.manifest_hash);
UPDATE chunks SET unused_since = CAST(strftime('%s', 'now') AS INTEGER)
    WHERE NOT EXISTS (SELECT 1 FROM nar_chunks n WHERE n.chunk_hash = chunks.hash);
CREATE INDEX nars_unused_since ON nars (unused_since) WHERE unused_since IS NOT NULL;
CREATE INDEX nars_deleting_since ON nars (deleting_since) WHERE deleting_since IS NOT NULL;
CREATE INDEX nars_edge_keep_until ON nars (edge_keep_until) WHERE edge_keep_until IS NOT NULL;
CREATE INDEX chunks_unused_since ON chunks (unused_since) WHERE unused_since IS NOT NULL;
-- Retention: a path expires when it was neither pushed nor read in the lab
-- for the cache's retention (last_accessed_at starts at pushed_at and only
-- moves forward). Pinned paths never expire, so they are not indexed.
CREATE INDEX paths_cache_last_accessed_at ON paths (cache_id, last_accessed_at) WHERE NOT pinned;

-- The last GC run, shared by every replica: each runs GC only when no other
-- did for an interval (the runs themselves are serialized by a lock).
CREATE TABLE gc_runs (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    succeeded INTEGER NOT NULL DEFAULT 0 CHECK (succeeded IN (0, 1)),
    summary TEXT NOT NULL DEFAULT ''
);
)sql";

constexpr const char* held_paths = R"sql(
-- Attic's client uploads a closure in any order, and a path is published only
-- once its references are in the cache: until then it is held here, as a
-- staged upload (so its NAR is protected and it expires like one) with the
-- signed narinfo to publish.
ALTER TABLE staged_uploads ADD COLUMN held_narinfo TEXT;
CREATE INDEX staged_uploads_held ON staged_uploads (cache_id) WHERE held_narinfo IS NOT NULL;
)sql";

constexpr const char* claim_writers = R"sql(
-- Every process that opens the database registers here under a fresh id and
-- renews heartbeat_at every few seconds (ClaimRules). A chunk claim, and
-- GC's deletion mark on a NAR, name their writer: once that writer falls
-- silent (it crashed, or was killed), they are dead and the next upload of
-- the chunk or NAR takes over within seconds, not after the claim timeout.
-- A clean stop removes the row. No foreign key: claims outlive the rows of
-- their dead writers.
CREATE TABLE writers (
    id TEXT PRIMARY KEY, -- host/pid/random
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
ALTER TABLE chunks ADD COLUMN claimed_by TEXT;
ALTER TABLE nars ADD COLUMN deleting_by TEXT;
)sql";

constexpr std::array<Migration, 7> migrations{{
    {1, "caches and their signing keys", caches_and_keys},
    {2, "chunks, NARs and their chunk lists, NAR listings", chunks_and_nars},
    {3, "staged uploads, published paths and their references", staged_uploads_and_paths},
    {4, "the outbox of bucket writes", outbox},
    {5, "garbage collection: unused since, deletion marks, last run", garbage_collection},
    {6, "paths held until their references arrive (Attic's upload-path)", held_paths},
    {7, "writers, so that a dead process's claims are taken over at once", claim_writers},
}};

constexpr const char* create_schema_migrations = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at INTEGER NOT NULL
);
)sql";

Result<void> apply(SqliteConnection& c, const Migration& step, UnixTime now) {
    if (auto ok = c.exec(step.sql); !ok)
        return make_error(ok.error().code, "migration " + std::to_string(step.version) + " (" +
                                               std::string(step.description) +
                                               "): " + ok.error().detail);
    return c.run("INSERT INTO schema_migrations (version, description, applied_at) "
                 "VALUES (?, ?, ?)",
                 step.version, step.description, now);
}

Error too_new(int found) {
    return make_error(ErrorCode::database_unavailable,
                      "the database has schema version " + std::to_string(found) +
                          ", newer than this build's " + std::to_string(latest_schema_version()) +
                          ": upgrade nixedge-server");
}

// One step under the write lock; re-reads the version first, since another
// process may have migrated since we looked.
Result<int> apply_next(SqliteConnection& c, int target, UnixTime now) {
    if (auto ok = c.exec("BEGIN IMMEDIATE"); !ok)
        return ok.error();
    auto version = schema_version(c);
    Result<void> applied;
    if (version && *version < target)
        applied = apply(c, migrations[static_cast<std::size_t>(*version)], now);
    if (!version || !applied) {
        (void)c.exec("ROLLBACK");
        return version ? applied.error() : version.error();
    }
    if (auto ok = c.exec("COMMIT"); !ok) {
        (void)c.exec("ROLLBACK");
        return ok.error();
    }
    return *version < target ? *version + 1 : *version;
}

} // namespace

std::span<const Migration> sqlite_migrations() {
    return migrations;
}

int latest_schema_version() {
    return static_cast<int>(migrations.size());
}

Result<int> schema_version(SqliteConnection& c) {
    if (auto ok = c.exec(create_schema_migrations); !ok)
        return ok.error();
    auto q = c.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
    auto row = q.step();
    if (!row)
        return row.error();
    return static_cast<int>(q.int64(0));
}

Result<int> migrate(SqliteConnection& c, int target, UnixTime now) {
    if (target < 0 || target > latest_schema_version())
        return make_error(ErrorCode::invalid_argument,
                          "no schema version " + std::to_string(target));
    auto version = schema_version(c);
    while (version && *version < target)
        version = apply_next(c, target, now);
    if (version && *version > latest_schema_version())
        return too_new(*version);
    return version;
}

} // namespace nixedge::lab
