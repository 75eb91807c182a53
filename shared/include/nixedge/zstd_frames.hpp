// zstd, one independent frame per chunk. Frames concatenate into a valid zstd
// stream, so a NAR is served as its chunks' stored frames back to back, and a
// client decodes them as one `.nar.zst`.
//
// Every frame records its content size (the chunk's raw size, a few header
// bytes) and, by default, zstd's 4-byte XXH64-based checksum of the raw bytes:
// cheap next to a chunk of a MiB, and it lets any zstd decoder (Nix, fsck)
// reject a damaged chunk itself instead of producing wrong bytes.
//
// The contexts are RAII wrappers, created once and reused for every frame.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

// zstd's opaque context types, so this header does not pull in <zstd.h>.
struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace nixedge {

struct ZstdFrameOptions {
    int level = 3; // any level zstd accepts, negative (fast) levels included
    bool checksum = true;
};

class ZstdCompressor {
  public:
    // Fails with invalid_argument for a level zstd does not support.
    static Result<ZstdCompressor> create(const ZstdFrameOptions& options = {});

    // Upper bound of the frame size for `raw_size` input bytes.
    static std::uint64_t frame_bound(std::uint64_t raw_size);

    // One chunk -> one complete frame with its content size, written to the
    // front of `out` (give it frame_bound(chunk.size()) bytes to never fail on
    // space). Returns the frame's size.
    Result<std::uint64_t> compress_frame_into(ByteView chunk, std::span<std::uint8_t> out);
    // The same, appending the frame to `out`.
    Result<void> compress_frame(ByteView chunk, Bytes& out);

    // Streaming: one frame from input given in pieces. A known content_size is
    // written into the frame header (and zstd checks the input matches it).
    // begin_frame abandons any frame still open.
    Result<void> begin_frame(std::optional<std::uint64_t> content_size = std::nullopt);
    // Appends to `out` whatever compressed bytes are ready (possibly none).
    Result<void> feed(ByteView input, Bytes& out);
    // Appends the rest of the frame to `out`; the compressor is then ready for the next one.
    Result<void> end_frame(Bytes& out);

  private:
    struct ContextDeleter {
        void operator()(ZSTD_CCtx_s* context) const;
    };
    explicit ZstdCompressor(std::unique_ptr<ZSTD_CCtx_s, ContextDeleter> context);
    Result<void> compress_stream(ByteView input, bool end, Bytes& out);

    std::unique_ptr<ZSTD_CCtx_s, ContextDeleter> context_;
    Bytes staging_; // zstd writes here first, so `out` grows by what was produced only
    bool frame_open_ = false;
};

// Memory is bounded by the frame's window (at most 2^window_log_max bytes)
// plus zstd's block buffers. Our frames' window is their content size, so 26
// covers the chunker's largest allowed chunks (64 MiB).
inline constexpr int default_window_log_max = 26;

class ZstdDecompressor {
  public:
    static Result<ZstdDecompressor> create(int window_log_max = default_window_log_max);

    // Decompresses concatenated frames given in slices of any size: consumes
    // from the front of `input`, writes into `output`, returns the bytes
    // written. While the result fills `output` there may be more to come:
    // call again (with empty input if need be).
    Result<std::uint64_t> decompress(ByteView& input, std::span<std::uint8_t> output);

    // Convenience over decompress(): consumes all of `input` and calls
    // sink(ByteView) with each piece of output (at most ~128 KiB, from an
    // internal buffer, valid during the call).
    template <class Sink> Result<void> feed(ByteView input, Sink&& sink) {
        for (;;) {
            auto written = decompress(input, output_buffer());
            if (!written)
                return written.error();
            if (*written > 0)
                sink(ByteView(output_buffer_.data(), *written));
            if (input.empty() && *written < output_buffer_.size())
                return {};
        }
    }

    // Ends the stream. Fails if it stopped inside a frame (truncated input, or
    // output not yet drained); either way the decompressor is then ready for a
    // new stream.
    Result<void> finish();
    // Forgets any partial frame and any earlier error.
    void reset();

    // True between a frame's first byte and the last byte of its output.
    bool in_frame() const { return in_frame_; }

  private:
    struct ContextDeleter {
        void operator()(ZSTD_DCtx_s* context) const;
    };
    explicit ZstdDecompressor(std::unique_ptr<ZSTD_DCtx_s, ContextDeleter> context);
    std::span<std::uint8_t> output_buffer();

    std::unique_ptr<ZSTD_DCtx_s, ContextDeleter> context_;
    Bytes output_buffer_;
    bool in_frame_ = false;
    std::optional<Error> failure_; // zstd's context is unusable after an error until reset
};

} // namespace nixedge
