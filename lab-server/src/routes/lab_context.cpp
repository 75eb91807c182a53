#include "routes/lab_context.hpp"

#include "auth/deny_list.hpp"

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
    };
    for (const auto& entry : entries) {
        auto counter = metrics.counter(entry.name, entry.help);
        if (!counter)
            return counter.error();
        *entry.slot = *counter;
    }
    return m;
}

Result<std::unique_ptr<LabContext>> LabContext::create(Lab& lab, http::Metrics& metrics) {
    auto registered = LabMetrics::register_in(metrics);
    if (!registered)
        return registered.error();
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
    return std::unique_ptr<LabContext>(new LabContext{
        lab, std::move(tokens), OutboxDrainer(lab.metadata, lab.storage), *registered});
}

} // namespace nixedge::lab
