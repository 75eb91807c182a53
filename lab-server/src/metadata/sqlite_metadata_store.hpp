// MetadataStore on SQLite: the embedded default, one file beside the data.
// WAL, synchronous=FULL (a commit is on disk before a push is acknowledged),
// foreign keys on, busy_timeout for other processes. Threading: see
// sqlite_pool.hpp. Schema: sqlite_migrations.cpp and docs/metadata-schema.md.
#pragma once

#include "metadata/metadata_store.hpp"
#include "metadata/sqlite_pool.hpp"

#include <chrono>
#include <filesystem>
#include <memory>

namespace nixedge::lab {

struct SqliteMetadataOptions {
    // Readers in parallel; one writer at a time whatever this says.
    std::size_t max_connections = 8;
    // How long a statement waits for another process's write lock.
    std::chrono::milliseconds busy_timeout{10'000};
    // A chunk claim older than this is presumed dead and may be taken over.
    // Far longer than any upload of a 4 MiB chunk, so a writer that is merely
    // slow keeps its claim. Every replica must use the same value.
    std::chrono::seconds chunk_claim_timeout{3600};
    // Tests replace it to move time.
    Clock clock = system_clock_now;
    // Tests stop at an older schema version to exercise migrations.
    int schema_version = 0; // 0: the latest
};

class SqliteMetadataStore final : public MetadataStore {
  public:
    // Opens (creating if needed) the database, switches it to WAL and applies
    // pending migrations.
    static Result<std::unique_ptr<SqliteMetadataStore>> open(const std::filesystem::path& path,
                                                             SqliteMetadataOptions options = {});

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
    SqliteMetadataStore(const std::filesystem::path& path, SqliteMetadataOptions options);

    std::filesystem::path path_;
    SqliteMetadataOptions options_;
    SqlitePool pool_;
};

} // namespace nixedge::lab
