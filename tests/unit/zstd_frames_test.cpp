#include "nixedge/zstd_frames.hpp"

#include <catch2/catch.hpp>
// For ZSTD_getFrameHeader, to inspect what the frames declare.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

using namespace nixedge;

namespace {

// Text-like bytes that compress, with some noise so zstd emits real blocks.
Bytes sample_bytes(std::uint64_t size, std::uint64_t seed) {
    const std::string words[] = {"store ", "nix ",  "path ",  "/lib/",
                                 "0x7f",   "ELF\n", "\t\0\0", "derivation "};
    Bytes out;
    out.reserve(size);
    std::uint64_t state = seed;
    while (out.size() < size) {
        state = state * 6364136223846793005 + 1442695040888963407;
        if ((state >> 60) == 0)
            out.push_back(static_cast<std::uint8_t>(state >> 40));
        else
            for (char c : words[(state >> 33) % 8])
                out.push_back(static_cast<std::uint8_t>(c));
    }
    out.resize(size);
    return out;
}

ZstdCompressor make_compressor(const ZstdFrameOptions& options = {}) {
    auto compressor = ZstdCompressor::create(options);
    REQUIRE(compressor.ok());
    return std::move(compressor).value();
}

ZstdDecompressor make_decompressor(int window_log_max = default_window_log_max) {
    auto decompressor = ZstdDecompressor::create(window_log_max);
    REQUIRE(decompressor.ok());
    return std::move(decompressor).value();
}

Bytes compress(ZstdCompressor& compressor, ByteView chunk) {
    Bytes frame;
    REQUIRE(compressor.compress_frame(chunk, frame).ok());
    return frame;
}

// zstd's own one-shot decoder, the reference: it also accepts concatenated frames.
Bytes reference_decompress(ByteView stream, std::uint64_t raw_size) {
    Bytes out(raw_size);
    std::size_t size = ZSTD_decompress(out.data(), out.size(), stream.data(), stream.size());
    REQUIRE_FALSE(ZSTD_isError(size));
    out.resize(size);
    return out;
}

struct Decoded {
    Result<void> status;
    Bytes bytes;
};

// Feeds `stream` to a fresh decompressor in slices from `next_slice`, then finishes.
Decoded decode_sliced(ByteView stream, const std::function<std::uint64_t()>& next_slice) {
    auto decompressor = make_decompressor();
    Bytes raw;
    std::uint64_t offset = 0;
    while (offset < stream.size()) {
        std::uint64_t length = std::min<std::uint64_t>(next_slice(), stream.size() - offset);
        auto fed = decompressor.feed(stream.subspan(offset, length), [&](ByteView piece) {
            raw.insert(raw.end(), piece.begin(), piece.end());
        });
        if (!fed)
            return {fed, raw};
        offset += length;
    }
    return {decompressor.finish(), raw};
}

Decoded decode_whole(ByteView stream) {
    return decode_sliced(stream, [&] { return std::uint64_t{stream.size()} + 1; });
}

// Several frames back to back, with the raw bytes they encode.
struct FrameStream {
    Bytes raw;
    Bytes stream;
    std::vector<std::uint64_t> frame_ends; // offsets in `stream` where a frame ends
};

FrameStream make_frame_stream(const std::vector<std::uint64_t>& chunk_sizes) {
    auto compressor = make_compressor();
    FrameStream s;
    std::uint64_t seed = 1;
    for (auto size : chunk_sizes) {
        Bytes chunk = sample_bytes(size, seed++);
        s.raw.insert(s.raw.end(), chunk.begin(), chunk.end());
        REQUIRE(compressor.compress_frame(chunk, s.stream).ok());
        s.frame_ends.push_back(s.stream.size());
    }
    return s;
}

} // namespace

TEST_CASE("a chunk compresses into one frame with content size and checksum", "[zstd]") {
    auto compressor = make_compressor();
    for (std::uint64_t size : {0u, 1u, 1000u, 131072u, 131073u, 1u << 20}) {
        Bytes chunk = sample_bytes(size, size);
        Bytes frame = compress(compressor, chunk);
        CHECK(frame.size() <= ZstdCompressor::frame_bound(size));
        CHECK(ZSTD_findFrameCompressedSize(frame.data(), frame.size()) == frame.size());
        CHECK(ZSTD_getFrameContentSize(frame.data(), frame.size()) == size);
        ZSTD_frameHeader header;
        REQUIRE(ZSTD_getFrameHeader(&header, frame.data(), frame.size()) == 0);
        CHECK(header.checksumFlag == 1);
        CHECK(reference_decompress(frame, size) == chunk);
        // The context is reused; the same chunk gives the same frame.
        CHECK(compress(compressor, chunk) == frame);
    }
}

TEST_CASE("compression options are honoured and validated", "[zstd]") {
    Bytes chunk = sample_bytes(200000, 5);
    auto no_checksum = make_compressor({3, false});
    Bytes frame = compress(no_checksum, chunk);
    ZSTD_frameHeader header;
    REQUIRE(ZSTD_getFrameHeader(&header, frame.data(), frame.size()) == 0);
    CHECK(header.checksumFlag == 0);
    CHECK(reference_decompress(frame, chunk.size()) == chunk);

    auto fast = make_compressor({1, true});
    auto strong = make_compressor({19, true});
    CHECK(compress(strong, chunk).size() < compress(fast, chunk).size());
    CHECK(reference_decompress(compress(strong, chunk), chunk.size()) == chunk);

    auto negative = make_compressor({-5, true});
    CHECK(reference_decompress(compress(negative, chunk), chunk.size()) == chunk);

    auto too_high = ZstdCompressor::create({ZSTD_maxCLevel() + 1, true});
    REQUIRE_FALSE(too_high.ok());
    CHECK(too_high.error().code == ErrorCode::invalid_argument);
}

TEST_CASE("compressing into a caller buffer reports a short buffer", "[zstd]") {
    auto compressor = make_compressor();
    Bytes chunk = sample_bytes(50000, 8);
    Bytes out(ZstdCompressor::frame_bound(chunk.size()));
    auto size = compressor.compress_frame_into(chunk, out);
    REQUIRE(size.ok());
    out.resize(*size);
    CHECK(reference_decompress(out, chunk.size()) == chunk);

    Bytes tiny(10);
    auto failed = compressor.compress_frame_into(chunk, tiny);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == ErrorCode::compression_failed);
    // The context stays usable after a failure.
    CHECK(reference_decompress(compress(compressor, chunk), chunk.size()) == chunk);
}

TEST_CASE("concatenated frames decode as one zstd stream", "[zstd]") {
    auto s = make_frame_stream({1000, 1 << 20, 1, 0, 70000, 300000});
    CHECK(reference_decompress(s.stream, s.raw.size()) == s.raw);
    auto decoded = decode_whole(s.stream);
    REQUIRE(decoded.status.ok());
    CHECK(decoded.bytes == s.raw);
}

TEST_CASE("the streaming compressor makes one frame from pieces", "[zstd]") {
    auto compressor = make_compressor();
    Bytes chunk = sample_bytes(700000, 3);
    for (std::uint64_t piece : {1u, 1000u, 65536u, 700000u}) {
        for (bool pledge : {false, true}) {
            Bytes frame;
            REQUIRE(
                compressor
                    .begin_frame(pledge ? std::optional<std::uint64_t>(chunk.size()) : std::nullopt)
                    .ok());
            for (std::uint64_t offset = 0; offset < chunk.size(); offset += piece)
                REQUIRE(compressor
                            .feed(ByteView(chunk).subspan(offset,
                                                          std::min(piece, chunk.size() - offset)),
                                  frame)
                            .ok());
            REQUIRE(compressor.end_frame(frame).ok());
            CHECK(ZSTD_findFrameCompressedSize(frame.data(), frame.size()) == frame.size());
            CHECK(ZSTD_getFrameContentSize(frame.data(), frame.size()) ==
                  (pledge ? chunk.size() : ZSTD_CONTENTSIZE_UNKNOWN));
            CHECK(reference_decompress(frame, chunk.size()) == chunk);
        }
    }
}

TEST_CASE("the streaming compressor rejects misuse", "[zstd]") {
    auto compressor = make_compressor();
    Bytes out;
    auto not_open = compressor.feed(as_bytes("abc"), out);
    REQUIRE_FALSE(not_open.ok());
    CHECK(not_open.error().code == ErrorCode::invalid_argument);
    CHECK_FALSE(compressor.end_frame(out).ok());

    // A frame whose input does not match the announced content size.
    REQUIRE(compressor.begin_frame(10).ok());
    REQUIRE(compressor.feed(as_bytes("abc"), out).ok());
    auto short_input = compressor.end_frame(out);
    REQUIRE_FALSE(short_input.ok());
    CHECK(short_input.error().code == ErrorCode::compression_failed);

    // ... and the compressor recovers for the next frame.
    out.clear();
    REQUIRE(compressor.begin_frame().ok());
    REQUIRE(compressor.feed(as_bytes("hello"), out).ok());
    REQUIRE(compressor.end_frame(out).ok());
    CHECK(reference_decompress(out, 5) == to_bytes("hello"));
}

TEST_CASE("decoding does not depend on how the stream is sliced", "[zstd]") {
    auto s = make_frame_stream({5000, 200000, 17, 1 << 18, 0, 999});
    SECTION("one byte at a time") {
        auto decoded = decode_sliced(s.stream, [] { return std::uint64_t{1}; });
        REQUIRE(decoded.status.ok());
        CHECK(decoded.bytes == s.raw);
    }
    SECTION("random slices") {
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            std::uint64_t state = seed;
            auto next_slice = [&] {
                state = state * 6364136223846793005 + 1442695040888963407;
                return (state >> 33) % (seed % 2 == 0 ? 50 : 100000);
            };
            auto decoded = decode_sliced(s.stream, next_slice);
            REQUIRE(decoded.status.ok());
            CHECK(decoded.bytes == s.raw);
        }
    }
    SECTION("tiny caller output buffers") {
        for (std::uint64_t output_size : {1u, 7u, 4096u}) {
            auto decompressor = make_decompressor();
            Bytes raw;
            Bytes output(output_size);
            ByteView input = s.stream;
            for (;;) {
                auto written = decompressor.decompress(input, output);
                REQUIRE(written.ok());
                raw.insert(raw.end(), output.begin(),
                           output.begin() + static_cast<std::ptrdiff_t>(*written));
                if (input.empty() && *written < output.size())
                    break;
            }
            CHECK(decompressor.finish().ok());
            CHECK(raw == s.raw);
        }
    }
}

TEST_CASE("a stream cut anywhere but a frame end is an error", "[zstd]") {
    auto s = make_frame_stream({300, 2000, 1, 40});
    for (std::uint64_t cut = 0; cut <= s.stream.size(); ++cut) {
        bool at_frame_end =
            cut == 0 || std::count(s.frame_ends.begin(), s.frame_ends.end(), cut) > 0;
        auto decoded = decode_whole(ByteView(s.stream).first(cut));
        INFO("cut at " << cut << " of " << s.stream.size());
        CHECK(decoded.status.ok() == at_frame_end);
        if (!decoded.status.ok())
            CHECK(decoded.status.error().code == ErrorCode::decompression_failed);
    }
}

TEST_CASE("corrupt input is an error", "[zstd]") {
    auto s = make_frame_stream({3000, 5000});
    std::uint64_t harmless = 0;
    for (std::uint64_t offset = 0; offset < s.stream.size(); ++offset) {
        Bytes corrupt = s.stream;
        corrupt[offset] ^= 0x5a;
        auto decoded = decode_whole(corrupt);
        INFO("corrupt byte at " << offset);
        if (decoded.status.ok()) {
            // zstd's entropy coding has a few redundant bits; flipping one may
            // decode to the same bytes, but never to different ones (checksum).
            CHECK(decoded.bytes == s.raw);
            ++harmless;
        } else {
            CHECK(decoded.status.error().code == ErrorCode::decompression_failed);
        }
    }
    CHECK(harmless < 10);

    auto garbage = decode_whole(as_bytes("this is not zstd at all"));
    REQUIRE_FALSE(garbage.status.ok());
    CHECK(garbage.status.error().code == ErrorCode::decompression_failed);
}

TEST_CASE("the decompressor stays failed until reset, then decodes again", "[zstd]") {
    auto s = make_frame_stream({1000});
    auto decompressor = make_decompressor();
    auto ignore = [](ByteView) {};
    CHECK_FALSE(decompressor.feed(as_bytes("garbage!"), ignore).ok());
    CHECK_FALSE(decompressor.feed(s.stream, ignore).ok()); // still failed
    decompressor.reset();
    Bytes raw;
    REQUIRE(
        decompressor.feed(s.stream, [&](ByteView p) { raw.insert(raw.end(), p.begin(), p.end()); })
            .ok());
    CHECK(decompressor.finish().ok());
    CHECK(raw == s.raw);

    // finish() on a truncated stream fails once, then the next stream works.
    REQUIRE(decompressor.feed(ByteView(s.stream).first(10), ignore).ok());
    CHECK(decompressor.in_frame());
    CHECK_FALSE(decompressor.finish().ok());
    CHECK_FALSE(decompressor.in_frame());
    REQUIRE(decompressor.feed(s.stream, ignore).ok());
    CHECK(decompressor.finish().ok());
}

TEST_CASE("the decompressor refuses frames beyond its window limit", "[zstd]") {
    // Larger than the output buffer, so zstd cannot decode straight into it.
    auto s = make_frame_stream({1 << 20});
    auto small_window = make_decompressor(ZSTD_WINDOWLOG_MIN);
    auto fed = small_window.feed(s.stream, [](ByteView) {});
    REQUIRE_FALSE(fed.ok());
    CHECK(fed.error().code == ErrorCode::decompression_failed);
    CHECK_FALSE(ZstdDecompressor::create(100).ok());
}
