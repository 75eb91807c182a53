// What the lab's route handlers share: the opened Lab, the token verifier, the
// outbox drainer and the domain metrics. One per server, alive as long as it.
#pragma once

#include "app/access_recorder.hpp"
#include "app/lab.hpp"
#include "auth/token.hpp"
#include "http/metrics.hpp"
#include "ingest/chunk_executor.hpp"
#include "ingest/nar_upload.hpp"
#include "outbox/outbox_drainer.hpp"
#include "routes/cache_directory.hpp"
#include "routes/narinfo_cache.hpp"

#include <memory>
#include <optional>

namespace nixedge::lab {

struct LabMetrics {
    http::Counter* chunks_stored = nullptr;       // new chunks written by uploads
    http::Counter* chunks_deduplicated = nullptr; // chunks an upload found already stored
    http::Counter* stored_bytes = nullptr;        // bytes of new chunk frames
    http::Counter* deduplicated_bytes = nullptr;  // raw bytes not stored again
    http::Counter* nars_ingested = nullptr;
    http::Counter* paths_published = nullptr;
    http::Counter* gc_runs = nullptr;          // GC runs this process made, finished or not
    http::Counter* gc_failures = nullptr;      // ... that failed
    http::Counter* gc_paths_removed = nullptr; // expired paths GC removed
    http::Counter* gc_nars_deleted = nullptr;
    http::Counter* gc_chunks_deleted = nullptr;
    http::Counter* gc_bytes_deleted = nullptr; // stored chunk bytes GC deleted
    http::Gauge* gc_last_success = nullptr;    // unix time this process's last GC succeeded

    static Result<LabMetrics> register_in(http::Metrics& metrics);
    // One NAR upload ingested, whatever the protocol.
    void count_ingest(const IngestStats& stats) const;
};

struct LabContext {
    Lab& lab;
    // nullopt without a configured secret: no token is valid, public caches
    // can still be read.
    std::optional<TokenVerifier> tokens;
    OutboxDrainer drainer;
    LabMetrics metrics;
    // Compresses and stores the chunks of every upload.
    std::unique_ptr<ChunkExecutor> chunk_executor;
    // Cache rows for authorization, at most a second old.
    std::unique_ptr<CacheDirectory> caches;
    // Signed narinfos recently served or published.
    std::unique_ptr<NarinfoCache> narinfos;
    // Narinfos read in the lab, for GC's retention.
    AccessRecorder reads;

    static Result<std::unique_ptr<LabContext>> create(Lab& lab, http::Metrics& metrics);

    // How every upload is ingested: the configured chunking and zstd level,
    // on the shared chunk executor.
    NarUploadOptions upload_options() const;
};

} // namespace nixedge::lab
