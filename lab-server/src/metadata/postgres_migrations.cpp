#include "metadata/postgres_migrations.hpp"

#include <array>
#include <string>

namespace nixedge::lab {

namespace {

// The PostgreSQL dialect of sqlite_migrations.cpp, step for step: the same
// versions, descriptions, tables, columns, keys and indexes; the comments
// there explain them. Only the spelling differs: BIGINT for INTEGER,
// identity columns for INTEGER PRIMARY KEY, BOOLEAN for 0/1 flags, BYTEA for
// BLOB, and COLLATE "C" on the text that is ordered or paged (names, hashes,
// store paths), so the order is the bytes' order as in SQLite whatever the
// database's locale. A new step is added to both lists in the same commit
// (docs/metadata-schema.md); a test compares the two schemas.

constexpr const char* caches_and_keys = R"sql(
CREATE TABLE caches (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    is_public BOOLEAN NOT NULL DEFAULT false,
    edge_enabled BOOLEAN NOT NULL DEFAULT false,
    priority BIGINT NOT NULL DEFAULT 41 CHECK (priority >= 0),
    retention_seconds BIGINT NOT NULL DEFAULT 0 CHECK (retention_seconds >= 0),
    allow_upstream_references BOOLEAN NOT NULL DEFAULT false,
    upstream_key_names TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE cache_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cache_id BIGINT NOT NULL REFERENCES caches (id) ON DELETE CASCADE,
    key_name TEXT COLLATE "C" NOT NULL,
    secret_encoding TEXT NOT NULL DEFAULT 'plain',
    secret_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'retiring')),
    created_at BIGINT NOT NULL,
    UNIQUE (cache_id, key_name)
);
)sql";

constexpr const char* chunks_and_nars = R"sql(
CREATE TABLE chunks (
    hash TEXT COLLATE "C" PRIMARY KEY,
    raw_size BIGINT NOT NULL CHECK (raw_size > 0),
    stored_size BIGINT NOT NULL CHECK (stored_size > 0),
    state TEXT NOT NULL CHECK (state IN ('claimed', 'stored')),
    claim_id BIGINT NOT NULL,
    claimed_at BIGINT NOT NULL,
    stored_at BIGINT
);
CREATE INDEX chunks_claimed_at ON chunks (claimed_at) WHERE state = 'claimed';

CREATE TABLE nars (
    manifest_hash TEXT COLLATE "C" PRIMARY KEY,
    nar_hash TEXT NOT NULL,
    nar_size BIGINT NOT NULL CHECK (nar_size >= 0),
    file_size BIGINT NOT NULL CHECK (file_size >= 0),
    chunk_count BIGINT NOT NULL CHECK (chunk_count >= 0),
    created_at BIGINT NOT NULL
);
CREATE INDEX nars_nar_hash ON nars (nar_hash);

CREATE TABLE nar_chunks (
    manifest_hash TEXT COLLATE "C" NOT NULL REFERENCES nars (manifest_hash) ON DELETE CASCADE,
    seq BIGINT NOT NULL CHECK (seq >= 0),
    chunk_hash TEXT COLLATE "C" NOT NULL REFERENCES chunks (hash),
    PRIMARY KEY (manifest_hash, seq)
);
CREATE INDEX nar_chunks_chunk_hash ON nar_chunks (chunk_hash);

CREATE TABLE nar_listings (
    manifest_hash TEXT COLLATE "C" PRIMARY KEY REFERENCES nars (manifest_hash) ON DELETE CASCADE,
    listing TEXT NOT NULL
);
)sql";

constexpr const char* staged_uploads_and_paths = R"sql(
CREATE TABLE staged_uploads (
    cache_id BIGINT NOT NULL REFERENCES caches (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    manifest_hash TEXT COLLATE "C" NOT NULL REFERENCES nars (manifest_hash),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (cache_id, url)
);
CREATE INDEX staged_uploads_expires_at ON staged_uploads (expires_at);
CREATE INDEX staged_uploads_manifest_hash ON staged_uploads (manifest_hash);

CREATE TABLE paths (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cache_id BIGINT NOT NULL REFERENCES caches (id) ON DELETE CASCADE,
    store_hash TEXT COLLATE "C" NOT NULL,
    store_path TEXT COLLATE "C" NOT NULL,
    manifest_hash TEXT COLLATE "C" NOT NULL REFERENCES nars (manifest_hash),
    nar_hash TEXT NOT NULL,
    nar_size BIGINT NOT NULL,
    deriver TEXT,
    ca TEXT,
    narinfo TEXT NOT NULL,
    pushed_at BIGINT NOT NULL,
    last_accessed_at BIGINT NOT NULL,
    pinned BOOLEAN NOT NULL DEFAULT false,
    UNIQUE (cache_id, store_hash)
);
CREATE INDEX paths_cache_pushed_at ON paths (cache_id, pushed_at);
CREATE INDEX paths_manifest_hash ON paths (manifest_hash);

CREATE TABLE path_references (
    path_id BIGINT NOT NULL REFERENCES paths (id) ON DELETE CASCADE,
    reference_hash TEXT COLLATE "C" NOT NULL,
    reference TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (path_id, reference_hash)
);
CREATE INDEX path_references_reference_hash ON path_references (reference_hash);
)sql";

constexpr const char* outbox = R"sql(
CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    op TEXT NOT NULL CHECK (op IN ('put', 'delete', 'regenerate')),
    object_key TEXT NOT NULL,
    payload BYTEA,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at BIGINT
);
CREATE INDEX outbox_object_key ON outbox (object_key);
)sql";

constexpr const char* garbage_collection = R"sql(
ALTER TABLE nars ADD COLUMN unused_since BIGINT;
ALTER TABLE nars ADD COLUMN deleting_since BIGINT;
ALTER TABLE nars ADD COLUMN edge_keep_until BIGINT;
ALTER TABLE chunks ADD COLUMN unused_since BIGINT;
UPDATE nars SET unused_since = CAST(extract(epoch FROM now()) AS BIGINT)
    WHERE NOT EXISTS (SELECT 1 FROM paths p WHERE p.manifest_hash = nars.manifest_hash)
    AND NOT EXISTS (SELECT 1 FROM staged_uploads s WHERE s.manifest_hash = nars.manifest_hash);
UPDATE chunks SET unused_since = CAST(extract(epoch FROM now()) AS BIGINT)
    WHERE NOT EXISTS (SELECT 1 FROM nar_chunks n WHERE n.chunk_hash = chunks.hash);
CREATE INDEX nars_unused_since ON nars (unused_since) WHERE unused_since IS NOT NULL;
CREATE INDEX nars_deleting_since ON nars (deleting_since) WHERE deleting_since IS NOT NULL;
CREATE INDEX nars_edge_keep_until ON nars (edge_keep_until) WHERE edge_keep_until IS NOT NULL;
CREATE INDEX chunks_unused_since ON chunks (unused_since) WHERE unused_since IS NOT NULL;
CREATE INDEX paths_cache_last_accessed_at ON paths (cache_id, last_accessed_at) WHERE NOT pinned;

CREATE TABLE gc_runs (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    succeeded BOOLEAN NOT NULL DEFAULT false,
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
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
ALTER TABLE chunks ADD COLUMN claimed_by TEXT;
ALTER TABLE nars ADD COLUMN deleting_by TEXT;
)sql";

constexpr std::array<PostgresMigration, 7> migrations{{
    {1, caches_and_keys},
    {2, chunks_and_nars},
    {3, staged_uploads_and_paths},
    {4, outbox},
    {5, garbage_collection},
    {6, held_paths},
    {7, claim_writers},
}};

constexpr const char* create_schema_migrations = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at BIGINT NOT NULL
);
)sql";

// Every process that opens the database migrates under this lock, so two
// replicas starting at once apply each step once. Per schema: stores in
// other schemas of the database (tests) do not wait for each other.
constexpr const char* take_migration_lock =
    "SELECT pg_advisory_xact_lock(hashtextextended('nixedge migrations ' || current_schema(), 0))";

Result<int> read_version(PostgresConnection& c) {
    auto q = c.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
    auto row = q.step();
    if (!row)
        return row.error();
    return static_cast<int>(q.int64(0));
}

Error too_new(int found) {
    return make_error(ErrorCode::database_unavailable,
                      "the database has schema version " + std::to_string(found) +
                          ", newer than this build's " + std::to_string(latest_schema_version()) +
                          ": upgrade nixedge-server");
}

// One transaction under the migration lock: every pending step up to target
// (PostgreSQL's DDL is transactional, so a failed step leaves no trace).
Result<int> migrate_locked(PostgresConnection& c, int target, UnixTime now) {
    if (auto ok = c.exec(take_migration_lock); !ok)
        return ok.error();
    if (auto ok = c.exec(create_schema_migrations); !ok)
        return ok.error();
    auto version = read_version(c);
    if (!version)
        return version;
    const auto sqlite = sqlite_migrations();
    for (int v = *version; v < target; ++v) {
        const auto& step = migrations[static_cast<std::size_t>(v)];
        const auto& twin = sqlite[static_cast<std::size_t>(v)];
        if (auto ok = c.exec(step.sql); !ok)
            return make_error(ok.error().code, "migration " + std::to_string(step.version) + " (" +
                                                   std::string(twin.description) +
                                                   "): " + ok.error().detail);
        if (auto ok = c.run("INSERT INTO schema_migrations (version, description, applied_at) "
                            "VALUES (?, ?, ?)",
                            step.version, twin.description, now);
            !ok)
            return ok.error();
    }
    return std::max(*version, target);
}

} // namespace

std::span<const PostgresMigration> postgres_migrations() {
    return migrations;
}

Result<int> postgres_schema_version(PostgresConnection& c) {
    if (auto ok = c.exec("BEGIN"); !ok)
        return ok.error();
    Result<int> version = make_error(ErrorCode::internal, "unset");
    if (auto ok = c.exec(create_schema_migrations); !ok)
        version = ok.error();
    else
        version = read_version(c);
    (void)c.exec(version ? "COMMIT" : "ROLLBACK");
    return version;
}

Result<int> postgres_migrate(PostgresConnection& c, int target, UnixTime now) {
    if (target < 0 || target > latest_schema_version())
        return make_error(ErrorCode::invalid_argument,
                          "no schema version " + std::to_string(target));
    if (auto ok = c.exec("BEGIN"); !ok)
        return ok.error();
    auto version = migrate_locked(c, target, now);
    if (!version) {
        (void)c.exec("ROLLBACK");
        return version;
    }
    if (auto ok = c.exec("COMMIT"); !ok)
        return ok.error();
    if (*version > latest_schema_version())
        return too_new(*version);
    return version;
}

} // namespace nixedge::lab
