// GET /{cache}/nix-cache-info: what Nix asks first, of a cache to read and of
// one to push to.
#include "routes/access.hpp"
#include "routes/lab_routes.hpp"

#include "http/errors.hpp"
#include "nixedge/bucket_layout.hpp"

namespace nixedge::lab {

namespace {

boost::asio::awaitable<http::Response> get_cache_info(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::pull);
    if (!cache)
        co_return http::error_response(cache.error());
    co_return http::Response::text(http::Status::ok, nix_cache_info_text(cache->settings.priority),
                                   "text/x-nix-cache-info");
}

} // namespace

Result<void> add_cache_info_routes(http::Router& router, LabContext& context) {
    return router.add({http::Verb::get}, "/{cache}/nix-cache-info", "nix-cache-info",
                      [&context](http::Request& req) { return get_cache_info(context, req); });
}

} // namespace nixedge::lab
