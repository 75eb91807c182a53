// GET /{cache}/{hash}.ls: the NAR listing the server made at ingest.
// PUT is what Nix sends with write-nar-listing=true: accepted and discarded,
// since the server's own listing comes from the NAR it validated.
#include "routes/access.hpp"
#include "routes/lab_routes.hpp"

#include "http/errors.hpp"
#include "nixedge/store_path.hpp"

namespace nixedge::lab {

namespace {

// Listings of large trees run to megabytes; they are read and dropped.
constexpr std::uint64_t max_listing_upload = 256 * 1024 * 1024;

boost::asio::awaitable<http::Response> get_listing(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::pull);
    if (!cache)
        co_return http::error_response(cache.error());
    if (!validate_store_hash(req.param("hash")))
        co_return http::problem_response(http::Problem::not_found, "no such listing");
    auto listing = context.lab.metadata->listing(cache->name, req.param("hash"));
    if (!listing)
        co_return http::error_response(listing.error());
    if (!*listing)
        co_return http::problem_response(http::Problem::not_found, "no such listing");
    co_return http::Response::json(http::Status::ok, std::move(**listing));
}

boost::asio::awaitable<http::Response> put_listing(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::push);
    if (!cache)
        co_return http::error_response(cache.error());
    for (;;) {
        auto piece = co_await req.body().read_some();
        if (!piece)
            co_return http::error_response(piece.error());
        if (piece->empty())
            co_return http::Response::empty(http::Status::ok);
    }
}

} // namespace

Result<void> add_listing_routes(http::Router& router, LabContext& context) {
    if (auto added =
            router.add({http::Verb::get}, "/{cache}/{hash}.ls", "listing",
                       [&context](http::Request& req) { return get_listing(context, req); });
        !added)
        return added;
    return router.add({http::Verb::put}, "/{cache}/{hash}.ls", "listing-upload",
                      [&context](http::Request& req) { return put_listing(context, req); },
                      {.body_limit = max_listing_upload});
}

} // namespace nixedge::lab
