// libFuzzer target for the chunk manifest decoder and range planning.
// Errors are fine; crashes, non-canonical acceptance and bad plans are not:
//   - whatever decodes must re-encode to exactly the input bytes;
//   - for any range of the stored bytes, the planned chunk slices must be
//     non-empty, inside their chunks, and add up to the range's length.
#include "nixedge/manifest.hpp"
#include "nixedge/range.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace nixedge;

namespace {

void require(bool condition) {
    if (!condition)
        std::abort();
}

void check_span(const ChunkManifest& manifest, const ByteRange& range) {
    auto span = plan_chunk_span(manifest, range);
    require(span.ok());
    require(span->first_chunk <= span->last_chunk);
    require(span->last_chunk < manifest.chunks.size());
    std::uint64_t sent = 0;
    for (std::uint64_t i = span->first_chunk; i <= span->last_chunk; ++i) {
        auto stored = manifest.chunks[i].stored_size;
        auto slice = span->slice(i, stored);
        require(slice.begin < slice.end && slice.end <= stored);
        sent += slice.end - slice.begin;
    }
    require(sent == range.length());
}

// Ranges derived from the input, so the fuzzer steers them too.
void check_ranges(const ChunkManifest& manifest, std::string_view input) {
    std::uint64_t total = manifest.stored_size();
    if (total == 0) {
        require(!plan_chunk_span(manifest, {0, 0}).ok());
        return;
    }
    std::uint64_t seed = std::hash<std::string_view>{}(input);
    std::uint64_t a = seed % total;
    std::uint64_t b = (seed >> 32) % total;
    check_span(manifest, {0, total - 1});
    check_span(manifest, {0, 0});
    check_span(manifest, {total - 1, total - 1});
    check_span(manifest, {std::min(a, b), std::max(a, b)});
    for (const std::string& header :
         {"bytes=" + std::to_string(a) + "-", "bytes=-" + std::to_string(b + 1),
          "bytes=" + std::to_string(b) + "-" + std::to_string(a + total)}) {
        auto parsed = parse_range_header(header, total);
        if (parsed.ok() && parsed->has_value())
            check_span(manifest, **parsed);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    // The input as a Range header too: any answer must lie inside the body.
    for (std::uint64_t total : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1000}}) {
        auto parsed = parse_range_header(input, total);
        if (parsed.ok() && parsed->has_value())
            require((*parsed)->first <= (*parsed)->last && (*parsed)->last < total);
    }

    auto manifest = decode_manifest(input);
    if (!manifest.ok()) {
        auto code = manifest.error().code;
        require(code == ErrorCode::invalid_manifest || code == ErrorCode::limit_exceeded);
        return 0;
    }
    require(validate_manifest(*manifest).ok());
    auto encoded = encode_manifest(*manifest);
    require(encoded.ok() && *encoded == input);
    require(manifest->raw_size() == manifest->nar_size);
    check_ranges(*manifest, input);
    return 0;
}
