#include "routes/lab_routes.hpp"

#include "http/observability.hpp"

namespace nixedge::lab {

Result<std::shared_ptr<http::Router>> make_lab_router(LabContext& context,
                                                      std::shared_ptr<http::Metrics> metrics) {
    auto router = std::make_shared<http::Router>();
    for (auto add : {add_cache_info_routes, add_narinfo_routes, add_nar_routes, add_listing_routes})
        if (auto added = add(*router, context); !added)
            return added.error();
    if (auto added = http::add_observability_routes(*router, std::move(metrics)); !added)
        return added.error();
    return router;
}

} // namespace nixedge::lab
