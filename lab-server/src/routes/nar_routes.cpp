// GET/HEAD /{cache}/nar/{file}: a NAR as the concatenation of its chunks'
// zstd frames (one valid zstd stream), named by its manifest, with the exact
// Content-Length (the narinfo's FileSize) and single byte ranges (206). It is
// streamed one chunk object at a time; a chunk that is missing or of the
// wrong size aborts the connection, so a client never sees a short body that
// looks complete. Served only under a cache that has a path using it.
//
// PUT /{cache}/nar/{file}: Nix's NAR upload, under its own URL
// (nar/<filehash>.nar.<ext>). The body goes through the one ingest path and
// is staged under (cache, URL) until its narinfo arrives. HEAD answers 200
// for such a staged upload, so Nix does not send it again.
#include "routes/access.hpp"
#include "routes/lab_routes.hpp"

#include "http/errors.hpp"
#include "http/workers.hpp"
#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/range.hpp"
#include "push/ingest.hpp"

namespace nixedge::lab {

namespace {

constexpr std::size_t read_buffer_size = 256 * 1024;

// Pulls the stored frames of chunks span.first_chunk..last_chunk, sliced.
class ChunkStream final : public http::BodyProducer {
  public:
    ChunkStream(std::shared_ptr<Storage> storage, ChunkManifest manifest, ChunkSpan span)
        : storage_(std::move(storage)), manifest_(std::move(manifest)), span_(span),
          index_(span.first_chunk), buffer_(read_buffer_size) {}

    boost::asio::awaitable<Result<ByteView>> next() override {
        while (remaining_ == 0) {
            if (index_ > span_.last_chunk)
                co_return ByteView{};
            if (auto opened = open_chunk(); !opened)
                co_return opened.error();
        }
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buffer_.size()));
        auto got = reader_->read(std::span(buffer_.data(), want));
        if (!got)
            co_return got.error();
        if (*got == 0)
            co_return make_error(ErrorCode::storage_unavailable, "a chunk object ended early");
        remaining_ -= *got;
        co_return ByteView(buffer_.data(), *got);
    }

  private:
    Result<void> open_chunk() {
        const auto& chunk = manifest_.chunks[index_];
        auto reader = storage_->get(bucket_key::chunk(chunk.hash));
        if (!reader)
            return Error{reader.error().code,
                         "chunk " + encoding::to_hex(chunk.hash) + ": " + reader.error().detail};
        if ((*reader)->size() != chunk.stored_size)
            return make_error(ErrorCode::storage_unavailable,
                              "chunk " + encoding::to_hex(chunk.hash) + " has " +
                                  std::to_string((*reader)->size()) + " bytes, not " +
                                  std::to_string(chunk.stored_size));
        reader_ = std::move(*reader);
        auto slice = span_.slice(index_, chunk.stored_size);
        if (auto skipped = skip(slice.begin); !skipped)
            return skipped;
        remaining_ = slice.end - slice.begin;
        ++index_;
        return {};
    }

    Result<void> skip(std::uint64_t bytes) {
        while (bytes > 0) {
            auto want = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, buffer_.size()));
            auto got = reader_->read(std::span(buffer_.data(), want));
            if (!got)
                return got.error();
            if (*got == 0)
                return make_error(ErrorCode::storage_unavailable, "a chunk object ended early");
            bytes -= *got;
        }
        return {};
    }

    std::shared_ptr<Storage> storage_;
    ChunkManifest manifest_;
    ChunkSpan span_;
    std::uint64_t index_;
    std::unique_ptr<ObjectReader> reader_;
    std::uint64_t remaining_ = 0; // bytes still to send of the open chunk
    std::vector<std::uint8_t> buffer_;
};

std::string nar_url_of(std::string_view file) {
    return "nar/" + std::string(file);
}

http::Response not_found() {
    return http::problem_response(http::Problem::not_found, "no such NAR in this cache");
}

// HEAD on Nix's own URL (nar/<filehash>.nar.<ext>) of an upload staged and
// waiting for its narinfo: 200 tells Nix not to send it again.
http::Response head_staged(MetadataStore& metadata, const Cache& cache, const std::string& url) {
    auto staged = metadata.find_staged(cache.name, url);
    if (!staged)
        return http::error_response(staged.error());
    if (!*staged)
        return not_found();
    auto nar = metadata.get_nar((*staged)->manifest_hash);
    if (!nar)
        return http::error_response(nar.error());
    if (!*nar)
        return not_found();
    return http::Response::stream(http::Status::ok, (*nar)->file_size, nullptr);
}

http::Response serve_manifest(LabContext& context, http::Request& req, const Sha256Digest& hash,
                              ChunkManifest manifest) {
    auto total = manifest.stored_size();
    std::optional<ByteRange> range;
    if (auto header = req.header("Range"); !header.empty()) {
        auto parsed = parse_range_header(header, total);
        if (!parsed) {
            auto response = http::error_response(parsed.error());
            response.headers.set("Content-Range", content_range_unsatisfied(total));
            return response;
        }
        range = *parsed;
    }
    // Never empty: a NAR has at least its header, so a manifest at least one chunk.
    auto span = plan_chunk_span(manifest, range.value_or(ByteRange{0, total - 1}));
    if (!span)
        return http::error_response(span.error());
    auto length = range ? range->length() : total;
    auto status = range ? http::Status::partial_content : http::Status::ok;
    std::unique_ptr<http::BodyProducer> producer;
    if (req.method() != http::Verb::head)
        producer = std::make_unique<ChunkStream>(context.lab.storage, std::move(manifest), *span);
    auto response =
        http::Response::stream(status, length, std::move(producer), "application/x-nix-nar");
    response.headers.set("Accept-Ranges", "bytes");
    response.headers.set("ETag", "\"" + encoding::to_hex(hash) + "\"");
    response.headers.set("Cache-Control", "public, max-age=31536000, immutable");
    if (range)
        response.headers.set("Content-Range", content_range(*range, total));
    return response;
}

boost::asio::awaitable<http::Response> get_nar(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::pull);
    if (!cache)
        co_return http::error_response(cache.error());
    auto& metadata = *context.lab.metadata;
    auto url = nar_url_of(req.param("file"));
    auto hash = parse_nar_url(url);
    if (!hash)
        co_return req.method() == http::Verb::head ? head_staged(metadata, *cache, url)
                                                   : not_found();
    auto has = metadata.cache_has_manifest(cache->name, *hash);
    if (!has)
        co_return http::error_response(has.error());
    if (!*has)
        co_return not_found();
    auto manifest = metadata.manifest(*hash);
    if (!manifest)
        co_return http::error_response(manifest.error());
    if (!*manifest)
        co_return not_found();
    co_return serve_manifest(context, req, *hash, std::move(**manifest));
}

boost::asio::awaitable<http::Response> put_nar(LabContext& context, http::Request& req) {
    auto cache = authorize(context, req, req.param("cache"), Permission::push);
    if (!cache)
        co_return http::error_response(cache.error());
    auto url = nar_url_of(req.param("file"));
    auto compression = compression_from_nar_file_name(req.param("file"));
    if (!compression)
        co_return http::error_response(compression.error());
    const auto& config = context.lab.config;
    auto ingested =
        co_await ingest_upload(req.body(), req.workers(), *compression, context.upload_options(),
                               {*context.lab.metadata, *context.lab.storage});
    if (!ingested)
        co_return http::error_response(ingested.error());
    context.metrics.count_ingest(ingested->staged.stats);
    auto staged = co_await req.workers().run([&] {
        return context.lab.metadata->stage_upload(cache->name, url, ingested->nar.manifest_hash,
                                                  config.uploads.staged_upload_timeout);
    });
    if (!staged)
        co_return http::error_response(staged.error());
    co_return http::Response::empty(http::Status::ok);
}

} // namespace

Result<void> add_nar_routes(http::Router& router, LabContext& context) {
    if (auto added = router.add({http::Verb::get}, "/{cache}/nar/{file}", "nar",
                                [&context](http::Request& req) { return get_nar(context, req); });
        !added)
        return added;
    return router.add({http::Verb::put}, "/{cache}/nar/{file}", "nar-upload",
                      [&context](http::Request& req) { return put_nar(context, req); },
                      {.body_limit = context.lab.config.server.limits.max_nar_bytes});
}

} // namespace nixedge::lab
