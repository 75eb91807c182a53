// What the lab's route handlers share: the opened Lab, the token verifier, the
// outbox drainer and the domain metrics. One per server, alive as long as it.
#pragma once

#include "app/lab.hpp"
#include "auth/token.hpp"
#include "http/metrics.hpp"
#include "ingest/chunk_executor.hpp"
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

    static Result<LabMetrics> register_in(http::Metrics& metrics);
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

    static Result<std::unique_ptr<LabContext>> create(Lab& lab, http::Metrics& metrics);
};

} // namespace nixedge::lab
