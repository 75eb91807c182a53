// The lab server's ONE route table (make_lab_router) and the endpoint
// families it is made of, one file each:
//
//   cache_info_routes.cpp  GET  /{cache}/nix-cache-info
//   narinfo_routes.cpp     GET  /{cache}/{hash}.narinfo   PUT: Nix's publish step
//   nar_routes.cpp         GET  /{cache}/nar/{file}       (Range, HEAD)  PUT: Nix's NAR upload
//   listing_routes.cpp     GET  /{cache}/{hash}.ls        PUT: accepted, the server makes its own
//   attic_cache_routes.cpp GET|POST|PATCH|DELETE /_api/v1/cache-config/{cache}, GET
//   /{cache}/attic-cache-info attic_push_routes.cpp  POST /_api/v1/get-missing-paths, PUT
//   /_api/v1/upload-path http/observability     GET  /metrics /healthz /readyz (probing
//   backend_probes)
#pragma once

#include "http/metrics.hpp"
#include "http/observability.hpp"
#include "http/router.hpp"
#include "routes/lab_context.hpp"

#include <memory>
#include <vector>

namespace nixedge::lab {

Result<void> add_cache_info_routes(http::Router& router, LabContext& context);
Result<void> add_narinfo_routes(http::Router& router, LabContext& context);
Result<void> add_nar_routes(http::Router& router, LabContext& context);
Result<void> add_listing_routes(http::Router& router, LabContext& context);
Result<void> add_attic_cache_routes(http::Router& router, LabContext& context);
Result<void> add_attic_push_routes(http::Router& router, LabContext& context);

// What /readyz asks, each at most once per ProbeCacheOptions::max_age:
// "database" (MetadataStore::ping) and "storage" (whether the bucket's layout
// marker exists; a missing one is fine, only an error means down).
std::vector<http::Probe> backend_probes(const Lab& lab);

Result<std::shared_ptr<http::Router>> make_lab_router(LabContext& context,
                                                      std::shared_ptr<http::Metrics> metrics,
                                                      http::ProbeCacheOptions readiness = {});

} // namespace nixedge::lab
