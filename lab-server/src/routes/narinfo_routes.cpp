// GET /{cache}/{hash}.narinfo: the signed text stored at publish, served as is.
// PUT /{cache}/{hash}.narinfo: the last step of Nix's push. The NAR it names
// (by Nix's own URL) was uploaded and staged before; the path is published
// only if NarHash and NarSize match that NAR and its references are in the
// cache. The database commit publishes; the edge objects are written from the
// outbox before the answer, so an acknowledged push is in the bucket too.
#include "routes/access.hpp"
#include "routes/lab_routes.hpp"

#include "http/errors.hpp"
#include "http/workers.hpp"
#include "nixedge/bucket_layout.hpp"
#include "nixedge/narinfo.hpp"
#include "nixedge/store_path.hpp"
#include "push/held_paths.hpp"
#include "push/publish.hpp"

namespace nixedge::lab {

namespace {

constexpr std::string_view narinfo_content_type = "text/x-nix-narinfo";

boost::asio::awaitable<http::Response> get_narinfo(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::pull);
    if (!cache)
        co_return http::error_response(cache.error());
    auto hash = req.param("hash");
    auto text = context.narinfos->find(cache->name, hash);
    if (!text && validate_store_hash(hash)) {
        auto found = context.lab.metadata->narinfo(cache->name, hash);
        if (!found)
            co_return http::error_response(found.error());
        text = std::move(*found);
        if (text)
            context.narinfos->insert(cache->name, hash, *text);
    }
    if (!text)
        co_return http::problem_response(http::Problem::not_found, "no such path in this cache");
    // Reads extend retention; without one nothing expires, so nothing to count.
    if (cache->settings.retention_seconds > 0)
        context.reads.record(cache->name, hash);
    co_return http::Response::text(http::Status::ok, std::move(*text), narinfo_content_type);
}

struct NarToPublish {
    NarRecord nar;
    std::optional<std::string> staged_url; // consumed by the publish
};

// The manifest of the path's narinfo already published in the cache, if any.
Result<std::optional<Sha256Digest>> published_manifest(MetadataStore& metadata, const Cache& cache,
                                                       const NarInfo& info) {
    auto text = metadata.narinfo(cache.name, info.store_path.hash);
    if (!text)
        return text.error();
    if (!*text)
        return std::optional<Sha256Digest>();
    auto published = parse_narinfo(**text);
    if (!published)
        return published.error();
    auto manifest = parse_nar_url(published->url);
    if (!manifest)
        return manifest.error();
    return std::optional<Sha256Digest>(*manifest);
}

// The NAR a pushed narinfo names: an upload staged under its URL; or (for a
// client that learnt the server's URL) a NAR already published in the cache;
// or, when the same path was published meanwhile by another push of the same
// NAR (through another replica, or a concurrent client whose publish took the
// staged upload they shared), that published NAR: publishing it again is a
// no-op if the NarHash matches and a conflict if not.
Result<NarToPublish> find_nar(MetadataStore& metadata, const Cache& cache, const NarInfo& info) {
    std::optional<Sha256Digest> manifest;
    std::optional<std::string> staged_url;
    auto staged = metadata.find_staged(cache.name, info.url);
    if (!staged)
        return staged.error();
    if (*staged) {
        manifest = (*staged)->manifest_hash;
        staged_url = info.url;
    } else if (auto named = parse_nar_url(info.url)) {
        auto has = metadata.cache_has_manifest(cache.name, *named);
        if (!has)
            return has.error();
        if (*has)
            manifest = *named;
    }
    if (!manifest) {
        auto published = published_manifest(metadata, cache, info);
        if (!published)
            return published.error();
        manifest = *published;
    }
    if (!manifest)
        return make_error(ErrorCode::invalid_argument,
                          "no NAR was uploaded for URL '" + info.url +
                              "' (or its upload expired): upload the NAR first");
    auto nar = metadata.get_nar(*manifest);
    if (!nar)
        return nar.error();
    if (!*nar)
        return make_error(ErrorCode::internal, "a staged NAR is not recorded");
    return NarToPublish{std::move(**nar), std::move(staged_url)};
}

// Everything after the body is read: database and bucket work, on a worker.
Result<PublishOutcome> publish(LabContext& context, const Cache& cache, const NarInfo& pushed) {
    auto& metadata = *context.lab.metadata;
    auto nar = find_nar(metadata, cache, pushed);
    if (!nar)
        return nar.error();
    auto info = make_cache_narinfo(pushed, nar->nar, cache);
    if (!info)
        return info.error();
    auto outcome = metadata.publish_path(cache.name, *info, nar->staged_url);
    if (!outcome)
        return outcome.error();
    // Paths an Attic client uploaded before this one may have waited for it.
    // Failing to look is no failure of this push: the next publish looks again.
    if (*outcome == PublishOutcome::published)
        (void)release_held_paths(metadata, cache);
    if (auto drained = context.drainer.drain(); !drained)
        return Error{drained.error().code,
                     "published, but the bucket could not be updated: " + drained.error().detail};
    return outcome;
}

boost::asio::awaitable<http::Response> put_narinfo(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::push);
    if (!cache)
        co_return http::error_response(cache.error());
    auto text = co_await req.body().read_all(context.lab.config.server.limits.max_narinfo_bytes);
    if (!text)
        co_return http::error_response(text.error());
    auto pushed = parse_pushed_narinfo(*text, req.param("hash"));
    if (!pushed)
        co_return http::error_response(pushed.error());
    auto outcome = co_await req.workers().run([&] { return publish(context, *cache, *pushed); });
    if (!outcome)
        co_return http::error_response(outcome.error());
    if (*outcome == PublishOutcome::published)
        context.metrics.paths_published->inc();
    co_return http::Response::empty(http::Status::ok);
}

} // namespace

Result<void> add_narinfo_routes(http::Router& router, LabContext& context) {
    if (auto added =
            router.add({http::Verb::get}, "/{cache}/{hash}.narinfo", "narinfo",
                       [&context](http::Request& req) { return get_narinfo(context, req); });
        !added)
        return added;
    return router.add({http::Verb::put}, "/{cache}/{hash}.narinfo", "narinfo-upload",
                      [&context](http::Request& req) { return put_narinfo(context, req); },
                      {.body_limit = context.lab.config.server.limits.max_narinfo_bytes});
}

} // namespace nixedge::lab
