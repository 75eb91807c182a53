#include "routes/lab_context.hpp"

#include "auth/deny_list.hpp"
#include "http/workers.hpp"
#include "routes/mirror_status.hpp"

#include <chrono>
#include <mutex>

namespace nixedge::lab {

Result<LabMetrics> LabMetrics::register_in(http::Metrics& metrics) {
    LabMetrics m;
    struct Entry {
        http::Counter** slot;
        const char* name;
        const char* help;
    };
    const Entry entries[] = {
        {&m.chunks_stored, "nixedge_chunks_stored_total",
         "Chunks compressed and stored by uploads."},
        {&m.chunks_deduplicated, "nixedge_chunks_deduplicated_total",
         "Chunks that uploads found already stored."},
        {&m.stored_bytes, "nixedge_chunk_stored_bytes_total",
         "Bytes of chunk frames written to storage by uploads."},
        {&m.deduplicated_bytes, "nixedge_chunk_deduplicated_bytes_total",
         "Raw NAR bytes that uploads did not store again."},
        {&m.nars_ingested, "nixedge_nars_ingested_total", "NAR uploads ingested and recorded."},
        {&m.paths_published, "nixedge_paths_published_total", "Store paths published."},
        {&m.gc_runs, "nixedge_gc_runs_total", "Garbage collections this process ran."},
        {&m.gc_failures, "nixedge_gc_failures_total", "Garbage collections that failed."},
        {&m.gc_paths_removed, "nixedge_gc_paths_removed_total",
         "Expired paths removed by garbage collection."},
        {&m.gc_nars_deleted, "nixedge_gc_nars_deleted_total",
         "Unused NARs (manifests) deleted by garbage collection."},
        {&m.gc_chunks_deleted, "nixedge_gc_chunks_deleted_total",
         "Unused chunks deleted by garbage collection."},
        {&m.gc_bytes_deleted, "nixedge_gc_deleted_bytes_total",
         "Stored chunk bytes deleted by garbage collection."},
    };
    for (const auto& entry : entries) {
        auto counter = metrics.counter(entry.name, entry.help);
        if (!counter)
            return counter.error();
        *entry.slot = *counter;
    }
    auto last_success = metrics.gauge("nixedge_gc_last_success_timestamp_seconds",
                                      "When this process last finished a garbage collection "
                                      "successfully (unix time; 0: never).");
    if (!last_success)
        return last_success.error();
    m.gc_last_success = *last_success;
    return m;
}

void LabMetrics::count_ingest(const IngestStats& stats) const {
    nars_ingested->inc();
    chunks_stored->inc(static_cast<double>(stats.new_chunks));
    chunks_deduplicated->inc(static_cast<double>(stats.deduplicated_chunks));
    stored_bytes->inc(static_cast<double>(stats.new_stored_bytes));
    deduplicated_bytes->inc(static_cast<double>(stats.deduplicated_raw_bytes));
}

NarUploadOptions LabContext::upload_options() const {
    const auto& config = lab.config;
    NarUploadOptions options;
    options.ingest.chunking = config.chunking.sizes;
    options.zstd_level = config.chunking.zstd_level;
    options.executor = chunk_executor.get();
    options.max_in_flight = 2 * std::size_t{chunk_executor->threads()};
    return options;
}

namespace {

// The storage gauges read one query's totals, at most once a second however
// many gauges and scrapes ask (the query scans the chunk table).
class TotalsReader {
  public:
    explicit TotalsReader(std::shared_ptr<MetadataStore> metadata)
        : metadata_(std::move(metadata)) {}

    double read(std::uint64_t StorageTotals::*field) {
        std::lock_guard lock(mutex_);
        auto now = std::chrono::steady_clock::now();
        if (now - read_at_ >= std::chrono::seconds(1)) {
            if (auto totals = metadata_->storage_totals())
                totals_ = *totals;
            read_at_ = now;
        }
        return static_cast<double>(totals_.*field);
    }

  private:
    std::shared_ptr<MetadataStore> metadata_;
    std::mutex mutex_;
    StorageTotals totals_;
    std::chrono::steady_clock::time_point read_at_{};
};

Result<void> register_storage_gauges(http::Metrics& metrics,
                                     std::shared_ptr<MetadataStore> metadata) {
    auto reader = std::make_shared<TotalsReader>(std::move(metadata));
    struct Gauge {
        const char* name;
        const char* help;
        std::uint64_t StorageTotals::*field;
    };
    const Gauge gauges[] = {
        {"nixedge_storage_chunks", "Chunks stored in the bucket.", &StorageTotals::chunks},
        {"nixedge_storage_chunk_bytes", "Stored (compressed) bytes of all chunks.",
         &StorageTotals::chunk_bytes},
        {"nixedge_storage_raw_bytes", "NAR bytes held by all chunks, before compression.",
         &StorageTotals::raw_bytes},
        {"nixedge_storage_nars", "NARs recorded (one manifest each).", &StorageTotals::nars},
        {"nixedge_paths", "Published store paths, all caches.", &StorageTotals::paths},
    };
    for (const auto& gauge : gauges)
        if (auto added = metrics.callback_gauge(
                gauge.name, gauge.help,
                [reader, field = gauge.field] { return reader->read(field); });
            !added)
            return added;
    return {};
}

} // namespace

Result<std::unique_ptr<LabContext>> LabContext::create(Lab& lab, http::Metrics& metrics) {
    auto registered = LabMetrics::register_in(metrics);
    if (!registered)
        return registered.error();
    if (auto gauges = register_storage_gauges(metrics, lab.metadata); !gauges)
        return gauges.error();
    auto unix_now = [] {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    if (auto gauges =
            register_mirror_gauges(metrics, lab.storage, unix_now, std::chrono::seconds(10));
        !gauges)
        return gauges.error();
    std::optional<TokenVerifier> tokens;
    const auto& auth = lab.config.auth;
    if (auth.token_hs256_secret) {
        DenyList deny;
        for (const auto& subject : auth.revoked_subjects)
            deny.deny_subject(subject);
        for (const auto& id : auth.revoked_token_ids)
            deny.deny_token_id(id);
        tokens.emplace(*auth.token_hs256_secret, auth.clock_skew, std::move(deny));
    }
    // Twice the cores: a thread waiting for a chunk's fsync leaves its core to
    // another's compression. Three chunks in flight per thread keep them busy
    // and bound ingest memory (at most 2 x 4 MiB per chunk in flight).
    auto threads = 2 * http::resolve_thread_count(lab.config.server.worker_threads);
    return std::unique_ptr<LabContext>(
        new LabContext{lab,
                       std::move(tokens),
                       OutboxDrainer(lab.metadata, lab.storage),
                       *registered,
                       std::make_unique<ChunkExecutor>(threads, 3 * std::size_t{threads}),
                       std::make_unique<CacheDirectory>(lab.metadata),
                       // ~64 MiB: some 100k narinfos of 600 bytes.
                       std::make_unique<NarinfoCache>(64 * 1024 * 1024, std::chrono::seconds(10)),
                       {}});
}

} // namespace nixedge::lab
