// MetadataStore on PostgreSQL: what several replicas share. The same
// semantics as PostgresMetadataStore (the same tests run against both), the
// same schema history (postgres_migrations.cpp), a bounded connection pool
// with the transaction kinds of postgres_pool.hpp, and recovery from a
// database restart (a broken connection is dropped and the transaction run
// again once where nothing can have committed).
//
// The store logic mirrors the sqlite_*.cpp files call for call; the SQL is
// the same text except where the dialects differ (RETURNING ids, GREATEST,
// boolean columns), so a change to one is made to the other.
#pragma once

#include "metadata/metadata_store.hpp"
#include "metadata/postgres_pool.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace nixedge::lab {

struct PostgresMetadataOptions {
    // Connections this process may hold (readers and writers alike). Every
    // replica's pool counts against the server's max_connections.
    std::size_t max_connections = 8;
    // Runs of a write transaction that keeps hitting serialization failures
    // or deadlocks before the caller gets database_unavailable.
    int max_attempts = 8;
    // A chunk claim older than this is presumed dead and may be taken over.
    // Far longer than any upload of a 4 MiB chunk, so a writer that is merely
    // slow keeps its claim. Every replica must use the same value.
    std::chrono::seconds chunk_claim_timeout{3600};
    // Tests replace it to move time.
    Clock clock = system_clock_now;
    // Tests stop at an older schema version to exercise migrations.
    int schema_version = 0; // 0: the latest
};

class PostgresMetadataStore final : public MetadataStore {
  public:
    // Connects (postgresql://user:password@host:port/db...) and applies
    // pending migrations. database_unavailable, without the password, if the
    // server cannot be reached or refuses the login.
    static Result<std::unique_ptr<PostgresMetadataStore>>
    open(const std::string& url, PostgresMetadataOptions options = {});

    // Connections open now, for tests of the pool.
    std::size_t open_connections() { return pool_.open_connections(); }

    Result<int> schema_version();

    Result<Cache> create_cache(std::string_view name, const CacheSettings& settings,
                               const SecretKey& key) override;
    Result<std::optional<Cache>> get_cache(std::string_view name) override;
    Result<std::vector<Cache>> list_caches() override;
    Result<Cache> update_cache(std::string_view name, const CacheSettingsUpdate& update) override;
    Result<void> destroy_cache(std::string_view name) override;
    Result<void> add_cache_key(std::string_view cache, const SecretKey& key,
                               KeyState state) override;
    Result<void> set_cache_key_state(std::string_view cache, std::string_view key_name,
                                     KeyState state) override;
    Result<void> remove_cache_key(std::string_view cache, std::string_view key_name) override;

    Result<std::vector<ChunkClaim>>
    claim_chunks(std::span<const ChunkClaimRequest> requests) override;
    Result<void> mark_chunks_stored(std::span<const ChunkStoredRequest> requests) override;
    Result<std::optional<ChunkRecord>> get_chunk(const Sha256Digest& hash) override;

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

    Result<StorageTotals> storage_totals() override;
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
    Result<void> complete_outbox(std::int64_t id) override;
    Result<void> fail_outbox(std::int64_t id, std::string_view error) override;
    Result<void> with_outbox_lock(const std::function<Result<void>()>& fn) override;

  private:
    PostgresMetadataStore(const std::string& url, PostgresMetadataOptions options);

    PostgresMetadataOptions options_;
    PostgresPool pool_;
};

} // namespace nixedge::lab
