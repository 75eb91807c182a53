// The lab-only operations: only nixedge-core.wasm carries them (see operations.hpp).
#include "operations.hpp"

#include "nixedge/chunker.hpp"
#include "nixedge/nar_listing.hpp"
#include "nixedge/zstd_frames.hpp"

#include <algorithm>
#include <span>
#include <string>

namespace nixedge::lab {

Result<std::string> chunk_lengths(ByteView data, std::uint32_t min_size, std::uint32_t avg_size,
                                  std::uint32_t max_size) {
    auto chunker = Chunker::create({min_size, avg_size, max_size});
    if (!chunker)
        return chunker.error();
    std::string out = "[";
    auto append = [&](ByteView chunk) {
        if (out.size() > 1)
            out += ',';
        out += std::to_string(chunk.size());
    };
    chunker->feed(data, append);
    chunker->finish(append);
    return out + "]";
}

Result<std::string> nar_listing(ByteView nar) {
    return nixedge::nar_listing(nar);
}

Result<Bytes> zstd_decompress(ByteView frames) {
    auto decompressor = ZstdDecompressor::create();
    if (!decompressor)
        return decompressor.error();
    // Straight into the output, a step at a time, never more than one byte
    // past the limit: a zstd bomb costs neither the memory nor the time.
    constexpr std::uint64_t step = 1 << 20;
    Bytes out;
    for (;;) {
        std::size_t used = out.size();
        auto room = static_cast<std::size_t>(std::min(step, max_decompressed_size - used + 1));
        out.resize(used + room);
        auto written = decompressor->decompress(frames, std::span(out).subspan(used));
        out.resize(used + (written ? static_cast<std::size_t>(*written) : 0));
        if (!written)
            return written.error();
        if (out.size() > max_decompressed_size)
            return make_error(ErrorCode::limit_exceeded, "decompressed output exceeds " +
                                                             std::to_string(max_decompressed_size) +
                                                             " bytes");
        if (frames.empty() && *written < room)
            break;
    }
    if (auto finished = decompressor->finish(); !finished)
        return finished.error();
    return out;
}

Result<Bytes> zstd_compress_frame(ByteView data, std::int32_t level) {
    auto compressor = ZstdCompressor::create({level, /*checksum=*/true});
    if (!compressor)
        return compressor.error();
    Bytes out;
    if (auto compressed = compressor->compress_frame(data, out); !compressed)
        return compressed.error();
    return out;
}

} // namespace nixedge::lab
