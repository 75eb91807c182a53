#include "routes/lab_routes.hpp"

#include "nixedge/bucket_layout.hpp"

namespace nixedge::lab {

std::vector<http::Probe> backend_probes(const Lab& lab) {
    return {
        {"database", [metadata = lab.metadata] { return metadata->ping(); }},
        // A missing marker is an answer too: only an error means down.
        {"storage",
         [storage = lab.storage]() -> Result<void> {
             auto found = storage->exists(bucket_key::layout_marker());
             if (!found)
                 return found.error();
             return {};
         }},
    };
}

Result<std::shared_ptr<http::Router>> make_lab_router(LabContext& context,
                                                      std::shared_ptr<http::Metrics> metrics,
                                                      http::ProbeCacheOptions readiness) {
    auto router = std::make_shared<http::Router>();
    for (auto add : {add_cache_info_routes, add_narinfo_routes, add_nar_routes, add_listing_routes,
                     add_attic_cache_routes, add_attic_push_routes})
        if (auto added = add(*router, context); !added)
            return added.error();
    auto check = http::cached_readiness(backend_probes(context.lab), std::move(readiness));
    if (auto added = http::add_observability_routes(*router, std::move(metrics), std::move(check));
        !added)
        return added.error();
    return router;
}

} // namespace nixedge::lab
