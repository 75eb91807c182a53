#include "push/ingest.hpp"

#include "http/workers.hpp"
#include "ingest/bucket_chunk_store.hpp"
#include "nixedge/bucket_layout.hpp"

namespace nixedge::lab {

namespace {

// Pieces large enough that handing each to the worker pool costs little.
// A socket read gives what arrived, often 64 KiB: reads are gathered up to
// this before the hand-off (16x fewer thread switches per upload).
constexpr std::size_t piece_size = 1024 * 1024;

// The NAR row first, then its manifest object, written every time (it is
// small, and always the same bytes): a row recorded by an upload that died
// before writing the object, or taken back from a GC that died after
// deleting it, gets its object again. Nothing serves a NAR before a staged
// upload or a path uses it, which comes after this.
Result<NarRecord> record(const StagedNar& staged, IngestTarget target) {
    auto recorded = target.metadata.record_nar(staged.manifest, staged.listing);
    if (!recorded)
        return recorded.error();
    if (auto put = target.storage.put(bucket_key::manifest(staged.manifest_hash),
                                      as_bytes(staged.manifest_text));
        !put)
        return put.error();
    auto nar = target.metadata.get_nar(*recorded);
    if (!nar)
        return nar.error();
    if (!*nar)
        return make_error(ErrorCode::internal, "a recorded NAR is missing");
    return std::move(**nar);
}

// Without compression the body is the NAR: one that runs past the announced
// NarSize, or ends short of it, is refused at once, before more of its chunks
// (or its last one, which the ingest stores only at the end) are stored.
Result<void> check_body_size(std::optional<std::uint64_t> expected, std::uint64_t received,
                             bool ended) {
    if (!expected)
        return {};
    if (received > *expected)
        return make_error(ErrorCode::invalid_nar, "NAR size exceeds the expected " +
                                                      std::to_string(*expected) +
                                                      " (the body holds more bytes)");
    if (ended && received != *expected)
        return make_error(ErrorCode::invalid_nar, "NAR size " + std::to_string(received) +
                                                      " does not match the expected " +
                                                      std::to_string(*expected));
    return {};
}

} // namespace

boost::asio::awaitable<Result<IngestedUpload>>
ingest_upload(http::RequestBody& body, http::Workers& workers, UploadCompression compression,
              const NarUploadOptions& options, IngestTarget target) {
    BucketChunkStore chunks(target.metadata, target.storage);
    auto upload = NarUpload::create(options, compression, chunks);
    if (!upload)
        co_return upload.error();
    auto expected_body_size = compression == UploadCompression::none
                                  ? options.expected_nar_size
                                  : std::optional<std::uint64_t>();
    std::uint64_t received = 0;
    Bytes gathered;
    gathered.reserve(piece_size);
    for (bool ended = false; !ended;) {
        gathered.clear();
        while (gathered.size() < piece_size) {
            auto piece = co_await body.read_some(piece_size - gathered.size());
            if (!piece)
                co_return piece.error();
            if (piece->empty()) {
                ended = true;
                break;
            }
            gathered.insert(gathered.end(), piece->begin(), piece->end());
        }
        received += gathered.size();
        if (auto size = check_body_size(expected_body_size, received, ended); !size)
            co_return size.error();
        if (gathered.empty())
            break;
        auto fed = co_await workers.run([&] { return upload->feed(gathered); });
        if (!fed)
            co_return fed.error();
    }
    co_return co_await workers.run([&]() -> Result<IngestedUpload> {
        auto staged = upload->finish();
        if (!staged)
            return staged.error();
        auto nar = record(*staged, target);
        if (!nar)
            return nar.error();
        return IngestedUpload{std::move(staged).value(), std::move(nar).value()};
    });
}

} // namespace nixedge::lab
