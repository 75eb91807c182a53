// Content-defined chunking with FastCDC (Xia et al., USENIX ATC 2016): a gear
// rolling hash, the first `min` bytes of each chunk skipped, and normalized
// chunking at level 2 (a stricter cut mask before `avg`, a looser one after).
//
// Boundaries are part of the stored format forever: chunks are named by their
// hash, so changing the gear table, the mask derivation, the seed or where a
// cut lands changes every boundary and defeats deduplication against
// everything already stored. The golden test in tests/unit/chunker_test.cpp
// exists to catch that.
//
// Streaming in the manner of zstd: the caller hands over input in slices of
// any size; the chunker cuts exactly the same chunks whatever the slicing, and
// holds the unfinished tail (never more than `max_size` bytes) until finish().
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <cstdint>
#include <optional>

namespace nixedge {

struct ChunkerParams {
    // Defaults from measurements on real NARs (see DESIGN.md): at a 1 MiB average a
    // ~300 MB NAR needs ~290 object reads, under the Workers subrequest limit, and
    // Nix rebuilds deduplicate about as well as with smaller chunks.
    std::uint64_t min_size = 256 * 1024;
    std::uint64_t avg_size = 1024 * 1024;
    std::uint64_t max_size = 4 * 1024 * 1024;

    bool operator==(const ChunkerParams&) const = default;
};

// Bounds that validate_chunker_params enforces: avg_size a power of two, and
// min_window_size <= min_size < avg_size < max_size <= max_chunk_size_limit.
inline constexpr std::uint64_t min_avg_size = 256;
inline constexpr std::uint64_t max_avg_size = std::uint64_t{1} << 26;
inline constexpr std::uint64_t min_window_size = 64;
// The chunker buffers up to max_size bytes; this keeps it far inside the
// edge's 128 MB memory.
inline constexpr std::uint64_t max_chunk_size_limit = std::uint64_t{64} << 20;

Result<void> validate_chunker_params(const ChunkerParams& params);

class Chunker {
  public:
    // Fails with invalid_argument if the parameters are out of bounds.
    static Result<Chunker> create(const ChunkerParams& params = {});

    // Cuts the next complete chunk, consuming bytes from the front of `input`.
    // The returned view points into `input` itself when the whole chunk lies
    // there (no copy), otherwise into the chunker's buffer; either way it is
    // valid until the next call on this chunker (and while `input`'s bytes live).
    // Returns nullopt once `input` is used up: its unfinished tail is then
    // copied into the chunker and continued by the next call.
    std::optional<ByteView> next(ByteView& input);

    // Ends the stream: returns the held tail as the last chunk (shorter than
    // max_size, possibly shorter than min_size), or nullopt if there is none.
    // The chunker is then ready for a new stream.
    std::optional<ByteView> finish();

    // Drops any held tail and starts a new stream.
    void reset();

    // Convenience over next()/finish(): calls on_chunk(ByteView) for every chunk.
    template <class OnChunk> void feed(ByteView input, OnChunk&& on_chunk) {
        while (auto chunk = next(input))
            on_chunk(*chunk);
    }
    template <class OnChunk> void finish(OnChunk&& on_chunk) {
        if (auto chunk = finish())
            on_chunk(*chunk);
    }

    const ChunkerParams& params() const { return params_; }
    // Bytes of the current, unfinished chunk held by the chunker.
    std::uint64_t buffered() const { return release_buffer_ ? 0 : buffer_.size(); }

  private:
    explicit Chunker(const ChunkerParams& params);

    // Scans `data` as the continuation of the current chunk (already pos_ bytes
    // long). Returns how many bytes of `data` complete the chunk, or nullopt if
    // all of `data` belongs to it and no cut was found.
    std::optional<std::uint64_t> find_cut(ByteView data);
    void start_chunk();

    ChunkerParams params_;
    std::uint64_t mask_strict_;
    std::uint64_t mask_loose_;
    std::uint64_t pos_ = 0;       // bytes of the current chunk seen so far
    std::uint64_t hash_ = 0;      // gear hash over the current chunk's bytes from min_size on
    Bytes buffer_;                // the current chunk's bytes, when it spans several inputs
    bool release_buffer_ = false; // buffer_ was last handed out as a chunk
};

} // namespace nixedge
