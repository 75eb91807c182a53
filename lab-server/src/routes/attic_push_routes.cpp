// Attic's push protocol (server/src/api/v1/{get_missing_paths,upload_path}.rs
// in Attic), used by `attic push` and `nixedge push`:
//
//   POST /_api/v1/get-missing-paths  {cache, store_path_hashes} -> {missing_paths}    push
//   PUT  /_api/v1/upload-path        the path info, then the raw NAR as the body       push
//
// The path info comes in X-Attic-Nar-Info, or as the first N bytes of the
// body with X-Attic-Nar-Info-Preamble-Size: N. The NAR goes through the one
// ingest path with the NarHash and NarSize the info announces (checked as it
// streams), then is published in the same request, or held until its
// references arrive (push/held_paths.hpp): Attic's client uploads a closure
// in any order. The answer comes once the path and its bucket objects are
// durable.
#include "routes/access.hpp"
#include "routes/lab_routes.hpp"

#include "attic/api_types.hpp"
#include "http/errors.hpp"
#include "http/workers.hpp"
#include "push/held_paths.hpp"
#include "push/ingest.hpp"
#include "push/publish.hpp"

#include <charconv>
#include <unordered_set>

namespace nixedge::lab {

namespace {

// A closure of tens of thousands of paths in one request, as Attic's client sends it.
constexpr std::uint64_t max_missing_paths_request_bytes = 8 * 1024 * 1024;

Error bad_request(std::string why) {
    return make_error(ErrorCode::invalid_argument, std::move(why));
}

boost::asio::awaitable<http::Response> get_missing_paths(LabContext& context, http::Request& req) {
    if (auto known = authenticate(context, req); !known)
        co_return http::error_response(known.error());
    auto body = co_await req.body().read_all(max_missing_paths_request_bytes);
    if (!body)
        co_return http::error_response(body.error());
    auto request = attic::parse_get_missing_paths_request(*body);
    if (!request)
        co_return http::error_response(request.error());
    auto cache = authorize(context, req, request->cache, Permission::push);
    if (!cache)
        co_return http::error_response(cache.error());
    // Each hash once, in the order asked.
    std::vector<std::string> hashes;
    std::unordered_set<std::string> seen;
    for (auto& hash : request->store_path_hashes)
        if (seen.insert(hash).second)
            hashes.push_back(std::move(hash));
    auto missing = co_await req.workers().run(
        [&] { return context.lab.metadata->missing_paths(cache->name, hashes); });
    if (!missing)
        co_return http::error_response(missing.error());
    co_return http::Response::json(http::Status::ok,
                                   attic::serialize(attic::GetMissingPathsResponse{*missing}));
}

Result<std::uint64_t> parse_size(std::string_view text, std::string_view header) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
        return bad_request(std::string(header) + " '" + std::string(text) +
                           "' is not a number of bytes");
    return value;
}

// The first `size` bytes of the body.
boost::asio::awaitable<Result<std::string>> read_preamble(http::RequestBody& body,
                                                          std::uint64_t size) {
    std::string preamble;
    while (preamble.size() < size) {
        auto piece = co_await body.read_some(static_cast<std::size_t>(size - preamble.size()));
        if (!piece)
            co_return piece.error();
        if (piece->empty())
            co_return bad_request("the body ended inside the upload info preamble");
        preamble.append(reinterpret_cast<const char*>(piece->data()), piece->size());
    }
    co_return preamble;
}

// The upload info, from its header or from the body's preamble.
boost::asio::awaitable<Result<attic::UploadPathInfo>> read_upload_info(LabContext& context,
                                                                       http::Request& req) {
    const auto limit = context.lab.config.server.limits.max_narinfo_bytes;
    std::string json;
    if (auto size_text = req.header(attic::nar_info_preamble_size_header); !size_text.empty()) {
        auto size = parse_size(size_text, attic::nar_info_preamble_size_header);
        if (!size)
            co_return size.error();
        if (*size > limit)
            co_return make_error(ErrorCode::limit_exceeded,
                                 "the upload info preamble has " + std::to_string(*size) +
                                     " bytes, more than the server's " + std::to_string(limit) +
                                     " (server.limits.max_narinfo_bytes)");
        auto preamble = co_await read_preamble(req.body(), *size);
        if (!preamble)
            co_return preamble.error();
        json = std::move(*preamble);
    } else if (auto header = req.header(attic::nar_info_header); !header.empty()) {
        json = std::string(header);
    } else {
        co_return bad_request(std::string(attic::nar_info_header) + " or " +
                              std::string(attic::nar_info_preamble_size_header) + " must be set");
    }
    auto info = attic::parse_upload_path_info(json);
    if (!info)
        co_return Error{info.error().code, "upload info: " + info.error().detail};
    co_return info;
}

// A body whose length is known must be the NAR exactly: refused before it is read.
Result<void> check_body_length(http::RequestBody& body, const attic::UploadPathInfo& info) {
    auto length = body.content_length();
    if (!length)
        return {};
    auto nar_bytes = *length - std::min(*length, body.bytes_read());
    if (nar_bytes != info.nar_size)
        return bad_request("the body holds " + std::to_string(nar_bytes) +
                           " bytes of NAR, but nar_size is " + std::to_string(info.nar_size));
    return {};
}

struct Published {
    Publication publication;
    NarRecord nar;
};

// After the NAR is recorded: sign, publish (or hold), write the bucket objects.
Result<Published> publish(LabContext& context, const Cache& cache, const NarInfo& pushed,
                          const NarRecord& nar) {
    auto& metadata = *context.lab.metadata;
    auto info = make_cache_narinfo(pushed, nar, cache);
    if (!info)
        return info.error();
    auto publication =
        publish_or_hold(metadata, cache, *info, context.lab.config.uploads.staged_upload_timeout);
    if (!publication)
        return publication.error();
    // Failing to look at other holds is no failure of this push: the next
    // publish looks again.
    if (*publication == Publication::published)
        (void)release_held_paths(metadata, cache);
    if (auto drained = context.drainer.drain(); !drained)
        return Error{drained.error().code,
                     "published, but the bucket could not be updated: " + drained.error().detail};
    return Published{*publication, nar};
}

attic::UploadPathResult upload_result(const Published& published, const IngestStats& stats) {
    attic::UploadPathResult result;
    // Nothing new was stored: every chunk was there (the NAR itself, most often).
    result.kind = published.publication == Publication::unchanged || stats.new_chunks == 0
                      ? attic::UploadKind::deduplicated
                      : attic::UploadKind::uploaded;
    result.file_size = published.nar.file_size;
    if (published.nar.nar_size > 0)
        result.frac_deduplicated = static_cast<double>(stats.deduplicated_raw_bytes) /
                                   static_cast<double>(published.nar.nar_size);
    return result;
}

boost::asio::awaitable<http::Response> upload_path(LabContext& context, http::Request& req) {
    if (auto known = authenticate(context, req); !known)
        co_return http::error_response(known.error());
    auto info = co_await read_upload_info(context, req);
    if (!info)
        co_return http::error_response(info.error());
    auto cache = authorize(context, req, info->cache, Permission::push);
    if (!cache)
        co_return http::error_response(cache.error());
    auto pushed = attic::to_narinfo(*info);
    if (!pushed)
        co_return http::error_response(pushed.error());
    if (auto ok = check_body_length(req.body(), *info); !ok)
        co_return http::error_response(ok.error());
    auto options = context.upload_options();
    options.expected_nar_hash = info->nar_hash.digest;
    options.expected_nar_size = info->nar_size;
    auto ingested = co_await ingest_upload(req.body(), req.workers(), UploadCompression::none,
                                           options, {*context.lab.metadata, *context.lab.storage});
    if (!ingested)
        co_return http::error_response(ingested.error());
    context.metrics.count_ingest(ingested->staged.stats);
    auto published = co_await req.workers().run(
        [&] { return publish(context, *cache, *pushed, ingested->nar); });
    if (!published)
        co_return http::error_response(published.error());
    if (published->publication == Publication::published)
        context.metrics.paths_published->inc();
    co_return http::Response::json(
        http::Status::ok, attic::serialize(upload_result(*published, ingested->staged.stats)));
}

} // namespace

Result<void> add_attic_push_routes(http::Router& router, LabContext& context) {
    if (auto added =
            router.add({http::Verb::post}, "/_api/v1/get-missing-paths", "attic-missing-paths",
                       [&context](http::Request& req) { return get_missing_paths(context, req); },
                       {.body_limit = max_missing_paths_request_bytes});
        !added)
        return added;
    const auto& limits = context.lab.config.server.limits;
    return router.add({http::Verb::put}, "/_api/v1/upload-path", "attic-upload-path",
                      [&context](http::Request& req) { return upload_path(context, req); },
                      {.body_limit = limits.max_nar_bytes + limits.max_narinfo_bytes});
}

} // namespace nixedge::lab
