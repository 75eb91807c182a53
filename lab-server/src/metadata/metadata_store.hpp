// The metadata database behind one interface: SQLite (embedded default) now,
// PostgreSQL (several replicas) later. The database is the source of truth and
// a commit is the publish point (docs/metadata-schema.md); every bucket write
// for the edge goes through the outbox, enqueued in the same transaction as the
// change that needs it.
//
// Conventions: lookups of something that may be absent return std::optional;
// commands on a missing cache or path fail with not_found. Every call is one
// transaction and is safe from any thread.
#pragma once

#include "nixedge/manifest.hpp"
#include "nixedge/narinfo.hpp"
#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"
#include "nixedge/store_path.hpp"
#include "nixedge/sync_plan.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab {

using UnixTime = std::int64_t; // seconds since the epoch, UTC
using Clock = std::function<UnixTime()>;
UnixTime system_clock_now();

// When a claim (a chunk being uploaded, or being deleted by GC) is dead, so
// that another writer may take it over. Every process that opens the database
// registers as a writer and renews its heartbeat; a claim whose writer has
// fallen silent is dead at once (a crashed server's uploads are taken over
// within seconds), and any claim older than `timeout` is dead whoever holds it
// (the rule for claims that name no writer). Every replica must use the same
// values.
struct ClaimRules {
    // Far longer than any upload of a 4 MiB chunk, so a live but slow writer
    // keeps its claim.
    std::chrono::seconds timeout{3600};
    // How often a process renews its writer row.
    std::chrono::milliseconds heartbeat{2000};
    // A writer whose row is older than this is dead. Several heartbeats, so a
    // busy database delaying one does not look like a crash.
    std::chrono::seconds writer_silence{10};
};

inline constexpr std::int64_t default_cache_priority = 41; // cache.nixos.org (40) first

// ---- caches and their signing keys ----

struct CacheSettings {
    bool is_public = false;
    bool edge_enabled = false;
    std::int64_t priority = default_cache_priority;
    std::int64_t retention_seconds = 0; // GC by push time; 0 keeps paths forever
    // Publish paths whose references are not in the cache (they come from upstream).
    bool allow_upstream_references = false;
    // Keys of upstream caches (e.g. cache.nixos.org-1): clients skip paths they signed.
    std::vector<std::string> upstream_key_names;

    bool operator==(const CacheSettings&) const = default;
};

// A cache's objects go to the bucket for the edge only when it is both public
// and edge-enabled: the edge serves without a token, so a private cache never
// leaves the lab whatever its edge flag says.
inline bool on_edge(const CacheSettings& settings) {
    return settings.is_public && settings.edge_enabled;
}

// A partial update: only the fields that are set change.
struct CacheSettingsUpdate {
    std::optional<bool> is_public;
    std::optional<bool> edge_enabled;
    std::optional<std::int64_t> priority;
    std::optional<std::int64_t> retention_seconds;
    std::optional<bool> allow_upstream_references;
    std::optional<std::vector<std::string>> upstream_key_names;
};

// Rotation: add the new key (active), mark the old one retiring, drop it once
// every reader trusts the new one. Both states sign (two Sig lines); only
// active keys are advertised as the cache's key. A cache always keeps at
// least one active key.
enum class KeyState { active, retiring };

struct CacheKey {
    std::string name;       // key name, e.g. "main-1"
    std::string secret_key; // "name:base64" (64 bytes)
    std::string public_key; // "name:base64" (32 bytes)
    KeyState state = KeyState::active;
    UnixTime created_at = 0;
};

struct Cache {
    std::int64_t id = 0;
    std::string name;
    CacheSettings settings;
    UnixTime created_at = 0;
    std::vector<CacheKey> keys; // oldest first
};

// ---- chunks, NARs (manifests), staged uploads ----

enum class ChunkState { claimed, stored };

enum class ChunkClaimOutcome {
    claimed_by_me,    // upload it, then mark_chunk_stored with claim_id
    already_stored,   // reuse it, with the recorded stored_size
    claimed_by_other, // another writer is uploading it: claim again later
};

struct ChunkClaimRequest {
    Sha256Digest hash{};
    std::uint64_t raw_size = 0;
    std::uint64_t stored_size = 0;
};

struct ChunkClaim {
    ChunkClaimOutcome outcome = ChunkClaimOutcome::claimed_by_me;
    std::int64_t claim_id = 0;
    // The size the chunk is (or will be) recorded with. A manifest must use
    // this, not the caller's own compressed size: the first writer's frame is
    // the one that stays.
    std::uint64_t stored_size = 0;
};

struct ChunkStoredRequest {
    Sha256Digest hash{};
    std::int64_t claim_id = 0;
};

struct ChunkRecord {
    Sha256Digest hash{};
    std::uint64_t raw_size = 0;
    std::uint64_t stored_size = 0;
    ChunkState state = ChunkState::claimed;
    std::int64_t claim_id = 0;
    UnixTime claimed_at = 0;
    std::optional<UnixTime> stored_at;
    // Since when no recorded NAR uses the chunk (absent while one does).
    std::optional<UnixTime> unused_since;

    bool operator==(const ChunkRecord&) const = default;
};

struct NarRecord {
    Sha256Digest manifest_hash{}; // names manifests/<hex> and nar/<hex>.nar.zst
    Sha256Digest nar_hash{};
    std::uint64_t nar_size = 0;
    std::uint64_t file_size = 0; // sum of stored sizes: FileSize and Content-Length
    std::uint64_t chunk_count = 0;
    UnixTime created_at = 0;
    // Since when no path or staged upload uses the NAR (absent while one does).
    std::optional<UnixTime> unused_since;

    bool operator==(const NarRecord&) const = default;
};

// One NAR that uses a chunk, with one path that publishes it: what a lost
// chunk breaks, for fsck's report.
struct ChunkUse {
    Sha256Digest manifest_hash{};
    std::string cache;      // empty when no path publishes the NAR (staged, or left for GC)
    std::string store_path; // "/nix/store/<hash>-<name>"; empty likewise
};

// A NAR uploaded under Nix's URL, waiting for its narinfo (which may arrive at
// another replica).
struct StagedUpload {
    std::string cache;
    std::string url; // as Nix sent it, e.g. "nar/<filehash>.nar.zst"
    Sha256Digest manifest_hash{};
    Sha256Digest nar_hash{};
    std::uint64_t nar_size = 0;
    UnixTime created_at = 0;
    UnixTime expires_at = 0;
};

// A path uploaded before its references (Attic's client uploads a closure in
// any order), held as a staged upload under held_path_url until they arrive.
struct HeldPath {
    std::string url;
    std::string narinfo; // signed, ready to publish
};

inline std::string held_path_url(std::string_view store_hash) {
    return "held/" + std::string(store_hash);
}

// ---- published paths ----

struct PathRecord {
    std::string cache;
    StorePath store_path;
    Sha256Digest manifest_hash{};
    Sha256Digest nar_hash{};
    std::uint64_t nar_size = 0;
    std::vector<StorePath> references; // sorted
    std::optional<StorePath> deriver;
    std::string ca;
    std::string narinfo; // the signed text, served as is
    UnixTime pushed_at = 0;
    UnixTime last_accessed_at = 0;
    bool pinned = false;
};

enum class PublishOutcome {
    published, // committed: this is the publish point
    unchanged, // already published with the same NarHash: nothing changed
};

// What the bucket holds, as the database records it.
struct StorageTotals {
    std::uint64_t chunks = 0;      // stored chunks
    std::uint64_t chunk_bytes = 0; // their stored (compressed) bytes
    std::uint64_t raw_bytes = 0;   // the NAR bytes they hold
    std::uint64_t nars = 0;        // recorded NARs (manifests)
    std::uint64_t paths = 0;       // published paths, all caches
};

// ---- garbage collection ----

// A path whose retention ran out (neither pushed nor read in the lab since
// the cutoff, and not pinned), with the store hashes it refers to.
struct ExpiredPath {
    std::string store_hash;
    std::vector<std::string> references; // itself excluded

    bool operator==(const ExpiredPath&) const = default;
};

struct PathRemovalRules {
    // GC: remove a path only if it is unpinned and was last pushed or read
    // before this. Absent: any path (an operator's delete).
    std::optional<UnixTime> expired_before;
    // Keep a path that another path of the cache refers to, so that every
    // closure the cache serves stays complete.
    bool keep_referenced = true;
    // Of a cache on the edge: until when the sync plan keeps listing the
    // removed paths' manifests and chunks (an edge may still serve a cached
    // narinfo naming them).
    UnixTime edge_keep_until = 0;
};

struct KeptPath {
    std::string store_hash;
    std::string reason; // "pinned", "referenced by /nix/store/...", ...

    bool operator==(const KeptPath&) const = default;
};

struct PathRemoval {
    std::vector<std::string> removed; // store hashes, in the order given
    std::vector<KeptPath> kept;
};

// A chunk GC has claimed for deletion: its row goes only with this claim.
struct ClaimedChunk {
    Sha256Digest hash{};
    std::int64_t claim_id = 0;
    std::uint64_t stored_size = 0;

    bool operator==(const ClaimedChunk&) const = default;
};

// The last GC run of any replica.
struct GcRun {
    UnixTime started_at = 0;
    std::optional<UnixTime> finished_at;
    bool succeeded = false;
    std::string summary;

    bool operator==(const GcRun&) const = default;
};

// ---- the outbox ----

enum class OutboxOp {
    put,        // write the payload to the key
    remove,     // delete the key
    regenerate, // rebuild the key's object from the database as it is when drained
};

struct OutboxEntry {
    std::int64_t id = 0; // drain in increasing id order
    OutboxOp op = OutboxOp::put;
    std::string key;
    std::string payload; // put only
    UnixTime created_at = 0;
    std::int64_t attempts = 0; // failed attempts so far
    std::string last_error;
};

class MetadataStore {
  public:
    virtual ~MetadataStore() = default;

    // -- caches --
    // The keypair comes from the caller (made by the server or imported):
    // the database layer has no randomness. conflict if the name is taken.
    virtual Result<Cache> create_cache(std::string_view name, const CacheSettings& settings,
                                       const SecretKey& key) = 0;
    virtual Result<std::optional<Cache>> get_cache(std::string_view name) = 0;
    virtual Result<std::vector<Cache>> list_caches() = 0; // by name
    virtual Result<Cache> update_cache(std::string_view name,
                                       const CacheSettingsUpdate& update) = 0;
    // Removes the cache with its keys, paths and staged uploads, and enqueues
    // the removal of its edge objects. NARs and chunks stay for GC; those of
    // a cache on the edge stay in the sync plan until edge_keep_until (see
    // PathRemovalRules).
    virtual Result<void> destroy_cache(std::string_view name, UnixTime edge_keep_until) = 0;

    virtual Result<void> add_cache_key(std::string_view cache, const SecretKey& key,
                                       KeyState state) = 0;
    virtual Result<void> set_cache_key_state(std::string_view cache, std::string_view key_name,
                                             KeyState state) = 0;
    virtual Result<void> remove_cache_key(std::string_view cache, std::string_view key_name) = 0;

    // -- chunks: claimed before upload, first writer wins --
    // One transaction for the batch (a commit costs an fsync); outcomes in
    // request order. A claim older than the store's claim timeout is presumed
    // dead (its writer crashed) and is taken over: claimed_by_me again, with a
    // new claim_id. invalid_argument if a hash is known with another raw size.
    // A dead claim on a chunk that recorded NARs use (fsck reset it for
    // re-upload) keeps its stored size, which their manifests and FileSize
    // carry: a frame of another size cannot take it over (conflict).
    virtual Result<std::vector<ChunkClaim>>
    claim_chunks(std::span<const ChunkClaimRequest> requests) = 0;
    // Marks claimed chunks stored once their objects are durable. Idempotent
    // for the same claim; conflict if a claim was taken over meanwhile (the
    // caller must then use the chunk as recorded); nothing changes on error.
    virtual Result<void> mark_chunks_stored(std::span<const ChunkStoredRequest> requests) = 0;
    // Gives up a claim whose object could not be written (the bucket is
    // down): the row stays a claim but dated as a dead one, so the next
    // upload of the chunk takes it over at once instead of waiting out the
    // claim timeout. Nothing changes if the claim was taken over meanwhile or
    // the chunk is stored.
    virtual Result<void> release_chunk_claim(const Sha256Digest& hash, std::int64_t claim_id) = 0;
    virtual Result<std::optional<ChunkRecord>> get_chunk(const Sha256Digest& hash) = 0;
    // An upload is about to use a stored chunk it found without claiming it:
    // an unused chunk's GC grace period starts again. false if the chunk is
    // not stored (any more: GC may have claimed it).
    virtual Result<bool> reuse_stored_chunk(const Sha256Digest& hash) = 0;

    Result<ChunkClaim> claim_chunk(const Sha256Digest& hash, std::uint64_t raw_size,
                                   std::uint64_t stored_size);
    Result<void> mark_chunk_stored(const Sha256Digest& hash, std::int64_t claim_id);

    // -- NARs --
    // Records a NAR once its chunks are stored (its manifest object is
    // written next, push/ingest.cpp); returns the manifest hash. Every chunk
    // must be stored with the sizes the manifest gives. Recording an existing
    // manifest is a no-op (except that a listing is added if it had none, and
    // an unused NAR's GC grace period starts again); storage_unavailable
    // while GC is deleting it.
    virtual Result<Sha256Digest> record_nar(const ChunkManifest& manifest,
                                            std::optional<std::string_view> listing) = 0;
    virtual Result<std::optional<NarRecord>> get_nar(const Sha256Digest& manifest_hash) = 0;
    // The chunk list, rebuilt from the database (the same manifest the bucket holds).
    virtual Result<std::optional<ChunkManifest>> manifest(const Sha256Digest& manifest_hash) = 0;

    // -- staged uploads (Nix: NAR first, narinfo later) --
    // Stages (or re-stages, replacing) the NAR under (cache, url) until now + ttl.
    virtual Result<StagedUpload> stage_upload(std::string_view cache, std::string_view url,
                                              const Sha256Digest& manifest_hash,
                                              std::chrono::seconds ttl) = 0;
    // Expired rows are absent even before expire_staged removes them.
    virtual Result<std::optional<StagedUpload>> find_staged(std::string_view cache,
                                                            std::string_view url) = 0;
    // Removes uploads expired at `now`; returns how many.
    virtual Result<std::size_t> expire_staged(UnixTime now) = 0;
    // Holds a signed narinfo whose references are not all in the cache yet:
    // staged (replacing an earlier hold) under held_path_url(its hash) with
    // the NAR its URL names, until now + ttl. Publish it with publish_path
    // and that URL as staged_url.
    virtual Result<void> hold_path(std::string_view cache, const NarInfo& narinfo,
                                   std::chrono::seconds ttl) = 0;
    // The cache's held paths that have not expired.
    virtual Result<std::vector<HeldPath>> held_paths(std::string_view cache) = 0;

    // -- publishing --
    // ONE transaction: the path row, its references, the consumed staged
    // upload (if staged_url) and, for a cache on the edge, the outbox entries
    // for its narinfo, listing and the sync plan. The narinfo must be signed
    // and name its NAR by manifest (URL nar/<manifest>.nar.zst); its NarHash,
    // NarSize and FileSize must match the recorded NAR (invalid_argument).
    // Immutable: same store hash and NarHash again -> unchanged; another
    // NarHash -> conflict. References missing from the cache -> invalid_argument
    // unless the cache allows upstream references.
    virtual Result<PublishOutcome> publish_path(std::string_view cache, const NarInfo& narinfo,
                                                std::optional<std::string_view> staged_url) = 0;
    virtual Result<std::optional<PathRecord>> get_path(std::string_view cache,
                                                       std::string_view store_hash) = 0;
    // The signed narinfo text, for GET /<cache>/<hash>.narinfo.
    virtual Result<std::optional<std::string>> narinfo(std::string_view cache,
                                                       std::string_view store_hash) = 0;
    // The NAR listing of a published path, for GET /<cache>/<hash>.ls.
    virtual Result<std::optional<std::string>> listing(std::string_view cache,
                                                       std::string_view store_hash) = 0;
    // A NAR is served under a cache only if one of the cache's paths uses it.
    virtual Result<bool> cache_has_manifest(std::string_view cache,
                                            const Sha256Digest& manifest_hash) = 0;
    // The store hashes among `store_hashes` that the cache has not published.
    virtual Result<std::vector<std::string>>
    missing_paths(std::string_view cache, std::span<const std::string> store_hashes) = 0;
    // GC inputs: pins exempt a path from retention; access times are batched
    // by the caller (only lab reads count) and only ever move forward.
    virtual Result<void> set_pinned(std::string_view cache, std::string_view store_hash,
                                    bool pinned) = 0;
    virtual Result<void> record_access(std::string_view cache,
                                       std::span<const std::string> store_hashes, UnixTime at) = 0;

    // -- garbage collection (app/gc.hpp drives it) --
    // The cache's expired paths (unpinned, last pushed or read before cutoff).
    virtual Result<std::vector<ExpiredPath>> expired_paths(std::string_view cache,
                                                           UnixTime cutoff) = 0;
    // Removes paths in the order given, each only if the rules allow it when
    // its turn comes, so referrers must come before what they refer to. For
    // a cache on the edge, enqueues the removal of their narinfos and
    // listings and the new sync plan. A NAR left unused starts its grace
    // period. One transaction: pass batches.
    virtual Result<PathRemoval> remove_paths(std::string_view cache,
                                             std::span<const std::string> store_hashes,
                                             const PathRemovalRules& rules) = 0;
    // NARs unused since before `unused_before` (and no longer kept for the
    // edge), at most `limit`, marked for deletion: from now on a push of the
    // same NAR waits for GC. Marks left by a GC that died are taken again.
    // The caller removes their manifest objects, then delete_marked_nars.
    virtual Result<std::vector<Sha256Digest>> mark_nars_for_deletion(UnixTime unused_before,
                                                                     std::size_t limit) = 0;
    // Deletes the rows of NARs still marked (with their chunk lists and
    // listings); chunks left unused start their grace period. Returns how many.
    virtual Result<std::size_t> delete_marked_nars(std::span<const Sha256Digest> manifests) = 0;
    // Chunks unused since before `unused_before`, at most `limit`, claimed
    // by GC: an upload of the same chunk waits for the claim like for any
    // other writer's. The caller removes their objects, then
    // delete_claimed_chunks, well within the claim timeout.
    virtual Result<std::vector<ClaimedChunk>> claim_chunks_for_deletion(UnixTime unused_before,
                                                                        std::size_t limit) = 0;
    // Deletes the rows of chunks whose GC claim still stands. Returns how many.
    virtual Result<std::size_t> delete_claimed_chunks(std::span<const ClaimedChunk> chunks) = 0;
    virtual Result<std::optional<GcRun>> last_gc_run() = 0;
    virtual Result<void> record_gc_run(const GcRun& run) = 0;
    // Runs fn holding the lock that makes GC runs of every process on this
    // database take turns; false, without running fn, if another holds it.
    virtual Result<bool> try_with_gc_lock(const std::function<Result<void>()>& fn) = 0;

    // -- totals, for metrics --
    virtual Result<StorageTotals> storage_totals() = 0;

    // -- health, for /readyz --
    // One trivial read on a pooled connection (the schema version): fails
    // while the database does not answer.
    virtual Result<void> ping() = 0;

    // -- the edge --
    // What the mirror should hold now (the object behind sync/plan): for every
    // cache on the edge, its nix-cache-info and its paths' narinfos and
    // listings in publish order, and exactly the manifests and chunks those
    // paths reach. One read snapshot, so the lists agree with each other.
    virtual Result<SyncPlan> edge_plan() = 0;

    // -- enumeration and repair, for fsck --
    // Pages of rows in ascending hash order, each page its own snapshot, so a
    // walk over millions of chunks holds neither the rows nor a read
    // transaction: pass the last hash of a page as `after` for the next one;
    // a short page is the last. Lowercase hex sorts like the bytes, so the
    // rows come in the order of their bucket keys and a walk can be merged
    // with a listing of the bucket.
    virtual Result<std::vector<ChunkRecord>> list_chunks(const std::optional<Sha256Digest>& after,
                                                         std::size_t limit) = 0;
    virtual Result<std::vector<NarRecord>> list_nars(const std::optional<Sha256Digest>& after,
                                                     std::size_t limit) = 0;
    // The NARs that use a chunk, each once per path that publishes it (once
    // with an empty cache if none does): at most `limit` rows, by NAR.
    virtual Result<std::vector<ChunkUse>> chunk_uses(const Sha256Digest& hash,
                                                     std::size_t limit) = 0;
    // For a stored chunk whose object is lost or damaged: turns its row back
    // into a dead claim (bumped claim_id, claimed long enough ago), so the
    // next upload of the chunk takes it over and writes the object again with
    // the recorded stored size. The chunk cannot be recreated from nothing;
    // until someone uploads its content, the NARs using it stay broken. false
    // if the chunk is not (or no longer) stored.
    virtual Result<bool> reset_chunk_for_upload(const Sha256Digest& hash) = 0;

    // -- the outbox --
    virtual Result<std::int64_t> enqueue(OutboxOp op, std::string_view key,
                                         std::string_view payload) = 0;
    // The oldest `limit` entries, in order.
    virtual Result<std::vector<OutboxEntry>> pending_outbox(std::size_t limit) = 0;
    // Removes drained entries, in one transaction (a commit per entry would
    // make draining thousands of GC deletions cost as many fsyncs);
    // completing an absent id is not an error (two drainers may race to the
    // same entry).
    virtual Result<void> complete_outbox(std::span<const std::int64_t> ids) = 0;
    Result<void> complete_outbox(std::int64_t id) { return complete_outbox(std::span(&id, 1)); }
    // Counts a failed attempt and keeps the entry (and its place in the order).
    virtual Result<void> fail_outbox(std::int64_t id, std::string_view error) = 0;
    // Runs fn holding the lock that every process on this database (each
    // replica, `fsck --repair`) takes to drain the outbox, so one drains at a
    // time: a regenerate and a later delete of one key must reach the bucket
    // in order. Waits while another process drains. fn's result is returned;
    // failing to take the lock is database_unavailable.
    virtual Result<void> with_outbox_lock(const std::function<Result<void>()>& fn) = 0;
};

std::string_view to_string(KeyState state);
std::string_view to_string(ChunkState state);
std::string_view to_string(OutboxOp op);

} // namespace nixedge::lab
