// The MetadataStore logic written once for both databases: a class template
// over the connection pool (SqlitePool or PostgresPool), whose connections
// offer the same calls (`?` parameters, rows as text, changes()). The SQL is
// the subset both dialects share (ON CONFLICT, RETURNING, boolean tests as
// `WHERE flag`), so every query runs unchanged on both; what differs lives
// in the pools (transactions and their isolation), the connections (errors)
// and the migrations. SqliteMetadataStore and PostgresMetadataStore add
// opening, the schema version and the outbox lock.
//
// The definitions are in sql_{caches,content,paths,gc,outbox,bucket_queries,writers}.hpp,
// instantiated once per database by sqlite_metadata_store.cpp and
// postgres_metadata_store.cpp (through sql_metadata_store_impl.hpp).
#pragma once

#include "metadata/heartbeat.hpp"
#include "metadata/metadata_store.hpp"

#include <chrono>
#include <utility>

namespace nixedge::lab {

template <class Pool> class SqlMetadataStore : public MetadataStore {
  public:
    Result<Cache> create_cache(std::string_view name, const CacheSettings& settings,
                               const SecretKey& key) override;
    Result<std::optional<Cache>> get_cache(std::string_view name) override;
    Result<std::vector<Cache>> list_caches() override;
    Result<Cache> update_cache(std::string_view name, const CacheSettingsUpdate& update) override;
    Result<void> destroy_cache(std::string_view name, UnixTime edge_keep_until) override;
    Result<void> add_cache_key(std::string_view cache, const SecretKey& key,
                               KeyState state) override;
    Result<void> set_cache_key_state(std::string_view cache, std::string_view key_name,
                                     KeyState state) override;
    Result<void> remove_cache_key(std::string_view cache, std::string_view key_name) override;

    Result<std::vector<ChunkClaim>>
    claim_chunks(std::span<const ChunkClaimRequest> requests) override;
    Result<void> mark_chunks_stored(std::span<const ChunkStoredRequest> requests) override;
    Result<void> release_chunk_claim(const Sha256Digest& hash, std::int64_t claim_id) override;
    Result<std::optional<ChunkRecord>> get_chunk(const Sha256Digest& hash) override;
    Result<bool> reuse_stored_chunk(const Sha256Digest& hash) override;

    Result<Sha256Digest> record_nar(const ChunkManifest& manifest,
                                    std::optional<std::string_view> listing) override;
    Result<std::optional<NarRecord>> get_nar(const Sha256Digest& manifest_hash) override;
    Result<std::optional<ChunkManifest>> manifest(const Sha256Digest& manifest_hash) override;

    Result<StagedUpload> stage_upload(std::string_view cache, std::string_view url,
                                      const Sha256Digest& manifest_hash,
                                      std::chrono::seconds ttl) override;
    Result<std::optional<StagedUpload>> find_staged(std::string_view cache,
                                                    std::string_view url) override;
    Result<std::size_t> expire_staged(UnixTime now) override;
    Result<void> hold_path(std::string_view cache, const NarInfo& narinfo,
                           std::chrono::seconds ttl) override;
    Result<std::vector<HeldPath>> held_paths(std::string_view cache) override;

    Result<PublishOutcome> publish_path(std::string_view cache, const NarInfo& narinfo,
                                        std::optional<std::string_view> staged_url) override;
    Result<std::optional<PathRecord>> get_path(std::string_view cache,
                                               std::string_view store_hash) override;
    Result<std::optional<std::string>> narinfo(std::string_view cache,
                                               std::string_view store_hash) override;
    Result<std::optional<std::string>> listing(std::string_view cache,
                                               std::string_view store_hash) override;
    Result<bool> cache_has_manifest(std::string_view cache,
                                    const Sha256Digest& manifest_hash) override;
    Result<std::vector<std::string>>
    missing_paths(std::string_view cache, std::span<const std::string> store_hashes) override;
    Result<void> set_pinned(std::string_view cache, std::string_view store_hash,
                            bool pinned) override;
    Result<void> record_access(std::string_view cache, std::span<const std::string> store_hashes,
                               UnixTime at) override;

    Result<std::vector<ExpiredPath>> expired_paths(std::string_view cache,
                                                   UnixTime cutoff) override;
    Result<PathRemoval> remove_paths(std::string_view cache,
                                     std::span<const std::string> store_hashes,
                                     const PathRemovalRules& rules) override;
    Result<std::vector<Sha256Digest>> mark_nars_for_deletion(UnixTime unused_before,
                                                             std::size_t limit) override;
    Result<std::size_t> delete_marked_nars(std::span<const Sha256Digest> manifests) override;
    Result<std::vector<ClaimedChunk>> claim_chunks_for_deletion(UnixTime unused_before,
                                                                std::size_t limit) override;
    Result<std::size_t> delete_claimed_chunks(std::span<const ClaimedChunk> chunks) override;
    Result<std::optional<GcRun>> last_gc_run() override;
    Result<void> record_gc_run(const GcRun& run) override;

    Result<StorageTotals> storage_totals() override;
    Result<void> ping() override {
        return pool_.read([](auto& c) -> Result<void> {
            auto q = c.query("SELECT max(version) FROM schema_migrations");
            if (auto row = q.step(); !row)
                return row.error();
            return {};
        });
    }
    Result<SyncPlan> edge_plan() override;

    Result<std::vector<ChunkRecord>> list_chunks(const std::optional<Sha256Digest>& after,
                                                 std::size_t limit) override;
    Result<std::vector<NarRecord>> list_nars(const std::optional<Sha256Digest>& after,
                                             std::size_t limit) override;
    Result<std::vector<ChunkUse>> chunk_uses(const Sha256Digest& hash, std::size_t limit) override;
    Result<bool> reset_chunk_for_upload(const Sha256Digest& hash) override;

    Result<std::int64_t> enqueue(OutboxOp op, std::string_view key,
                                 std::string_view payload) override;
    Result<std::vector<OutboxEntry>> pending_outbox(std::size_t limit) override;
    Result<void> complete_outbox(std::span<const std::int64_t> ids) override;
    using MetadataStore::complete_outbox;
    Result<void> fail_outbox(std::int64_t id, std::string_view error) override;

    // Stops the heartbeat and removes this process's writer row: claims it
    // still holds (uploads cut short) are dead at once.
    ~SqlMetadataStore() override;

  protected:
    template <class... PoolArgs>
    SqlMetadataStore(Clock clock, ClaimRules claims, PoolArgs&&... pool_args)
        : clock_(std::move(clock)), claims_(claims), pool_(std::forward<PoolArgs>(pool_args)...) {}

    // Registers this process in `writers` (a fresh id) and starts renewing
    // the row; open() calls it once the schema is current. Also forgets the
    // rows of writers silent for longer than the claim timeout.
    Result<void> register_writer();
    void renew_writer();

    // After a commit that made a NAR used (a staged upload or a path names
    // it): clears its unused_since, outside that serializable transaction, so
    // that concurrent pushes writing NAR rows do not fail each other's
    // serialization. Best effort: GC heals a used NAR it finds unused.
    void note_nar_used(const std::string& manifest_hash);
    // stage_upload, and hold_path with the narinfo to hold.
    Result<StagedUpload> stage(std::string_view cache, std::string_view url,
                               const Sha256Digest& manifest_hash, std::chrono::seconds ttl,
                               const std::optional<std::string>& held_narinfo);

    Clock clock_;
    ClaimRules claims_;
    Pool pool_;
    // This process's id in `writers` (host/pid/random), the owner its claims name.
    std::string writer_id_;
    Heartbeat heartbeat_;
};

} // namespace nixedge::lab
