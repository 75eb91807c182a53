// HTTP Range requests over a served .nar.zst, which is the manifest's stored
// zstd frames back to back: parse the header (RFC 9110 section 14), then map
// the byte range onto the span of chunk objects to fetch and how to slice them.
#pragma once

#include "nixedge/manifest.hpp"
#include "nixedge/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nixedge {

// An inclusive byte range, as HTTP writes them: bytes first..last.
struct ByteRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;

    std::uint64_t length() const { return last - first + 1; }
    bool operator==(const ByteRange&) const = default;
};

// Decides the answer to `Range: <header_value>` on a body of total_length bytes:
//   - a range: answer 206 with it (already clamped to the body);
//   - nullopt: ignore the header and answer 200 with the whole body. That is
//     the case for a malformed header, a unit other than "bytes", and for
//     several ranges: multipart/byteranges is not worth its cost for a cache
//     whose clients (Nix resuming a download) ask for one range;
//   - error range_not_satisfiable: answer 416 with content_range_unsatisfied().
// RFC 9110 semantics: a first byte at or past the end is unsatisfiable (so is
// any range of an empty body, and a zero-length suffix), a last byte past the
// end is clamped, `-n` means the last n bytes (all of them if n >= total).
Result<std::optional<ByteRange>> parse_range_header(std::string_view header_value,
                                                    std::uint64_t total_length);

// Header values for the answers above: "bytes first-last/total" and "bytes */total".
std::string content_range(const ByteRange& range, std::uint64_t total_length);
std::string content_range_unsatisfied(std::uint64_t total_length);

// A half-open slice [begin, end) of one stored chunk object.
struct ByteSlice {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;

    bool operator==(const ByteSlice&) const = default;
};

// The chunk objects that hold a byte range of the concatenated stored frames:
// chunks first_chunk..last_chunk (indices into manifest.chunks), the range
// starting at first_offset in the first one and ending before last_end in the
// last one.
struct ChunkSpan {
    std::uint64_t first_chunk = 0;
    std::uint64_t first_offset = 0;
    std::uint64_t last_chunk = 0;
    std::uint64_t last_end = 0;

    std::uint64_t chunk_count() const { return last_chunk - first_chunk + 1; }
    // What to send of chunk `index` (first_chunk <= index <= last_chunk), whose
    // stored size is `stored_size`.
    ByteSlice slice(std::uint64_t index, std::uint64_t stored_size) const;
    bool operator==(const ChunkSpan&) const = default;
};

// Fails with invalid_argument unless range lies within [0, manifest.stored_size()).
Result<ChunkSpan> plan_chunk_span(const ChunkManifest& manifest, const ByteRange& range);

} // namespace nixedge
