#include "nixedge/zstd_frames.hpp"

#include <zstd.h>

#include <limits>
#include <string>

namespace nixedge {

namespace {

Error zstd_error(ErrorCode code, std::string_view what, std::size_t zstd_result) {
    return make_error(code, std::string(what) + ": " + ZSTD_getErrorName(zstd_result));
}

Result<void> check_compress(std::size_t zstd_result, std::string_view what) {
    if (ZSTD_isError(zstd_result))
        return zstd_error(ErrorCode::compression_failed, what, zstd_result);
    return {};
}

} // namespace

// ---- compressor -------------------------------------------------------------

void ZstdCompressor::ContextDeleter::operator()(ZSTD_CCtx_s* context) const {
    ZSTD_freeCCtx(context);
}

ZstdCompressor::ZstdCompressor(std::unique_ptr<ZSTD_CCtx_s, ContextDeleter> context)
    : context_(std::move(context)) {}

Result<ZstdCompressor> ZstdCompressor::create(const ZstdFrameOptions& options) {
    if (options.level < ZSTD_minCLevel() || options.level > ZSTD_maxCLevel())
        return make_error(ErrorCode::invalid_argument,
                          "zstd level " + std::to_string(options.level) + " is outside [" +
                              std::to_string(ZSTD_minCLevel()) + ", " +
                              std::to_string(ZSTD_maxCLevel()) + "]");
    std::unique_ptr<ZSTD_CCtx_s, ContextDeleter> context(ZSTD_createCCtx());
    if (!context)
        return make_error(ErrorCode::compression_failed, "cannot allocate a zstd context");
    // Parameters stick to the context across frames; only the session is reset.
    auto set = [&](ZSTD_cParameter parameter, int value) {
        return check_compress(ZSTD_CCtx_setParameter(context.get(), parameter, value),
                              "zstd parameter");
    };
    for (auto result :
         {set(ZSTD_c_compressionLevel, options.level),
          set(ZSTD_c_checksumFlag, options.checksum ? 1 : 0), set(ZSTD_c_contentSizeFlag, 1)})
        if (!result)
            return result.error();
    return ZstdCompressor(std::move(context));
}

std::uint64_t ZstdCompressor::frame_bound(std::uint64_t raw_size) {
    if (raw_size > std::numeric_limits<std::size_t>::max() / 2)
        return std::numeric_limits<std::uint64_t>::max();
    return ZSTD_compressBound(static_cast<std::size_t>(raw_size));
}

Result<std::uint64_t> ZstdCompressor::compress_frame_into(ByteView chunk,
                                                          std::span<std::uint8_t> out) {
    frame_open_ = false; // ZSTD_compress2 starts a new session itself
    std::size_t size =
        ZSTD_compress2(context_.get(), out.data(), out.size(), chunk.data(), chunk.size());
    if (auto checked = check_compress(size, "zstd frame"); !checked)
        return checked.error();
    return std::uint64_t{size};
}

Result<void> ZstdCompressor::compress_frame(ByteView chunk, Bytes& out) {
    std::size_t old_size = out.size();
    out.resize(old_size + static_cast<std::size_t>(frame_bound(chunk.size())));
    auto size = compress_frame_into(chunk, std::span(out).subspan(old_size));
    out.resize(old_size + (size ? static_cast<std::size_t>(*size) : 0));
    if (!size)
        return size.error();
    return {};
}

Result<void> ZstdCompressor::begin_frame(std::optional<std::uint64_t> content_size) {
    ZSTD_CCtx_reset(context_.get(), ZSTD_reset_session_only);
    frame_open_ = false;
    if (content_size) {
        if (auto set = check_compress(ZSTD_CCtx_setPledgedSrcSize(context_.get(), *content_size),
                                      "zstd content size");
            !set)
            return set.error();
    }
    frame_open_ = true;
    return {};
}

Result<void> ZstdCompressor::feed(ByteView input, Bytes& out) {
    return compress_stream(input, false, out);
}

Result<void> ZstdCompressor::end_frame(Bytes& out) {
    auto result = compress_stream({}, true, out);
    frame_open_ = false;
    return result;
}

Result<void> ZstdCompressor::compress_stream(ByteView input, bool end, Bytes& out) {
    if (!frame_open_)
        return make_error(ErrorCode::invalid_argument,
                          "no zstd frame open: call begin_frame first");
    if (staging_.empty())
        staging_.resize(ZSTD_CStreamOutSize());
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    for (;;) {
        ZSTD_outBuffer staged{staging_.data(), staging_.size(), 0};
        std::size_t remaining =
            ZSTD_compressStream2(context_.get(), &staged, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(remaining)) {
            frame_open_ = false;
            return zstd_error(ErrorCode::compression_failed, "zstd stream", remaining);
        }
        out.insert(out.end(), staging_.begin(),
                   staging_.begin() + static_cast<std::ptrdiff_t>(staged.pos));
        bool done = end ? remaining == 0 : in.pos == in.size;
        if (done)
            return {};
    }
}

// ---- decompressor -----------------------------------------------------------

void ZstdDecompressor::ContextDeleter::operator()(ZSTD_DCtx_s* context) const {
    ZSTD_freeDCtx(context);
}

ZstdDecompressor::ZstdDecompressor(std::unique_ptr<ZSTD_DCtx_s, ContextDeleter> context)
    : context_(std::move(context)) {}

Result<ZstdDecompressor> ZstdDecompressor::create(int window_log_max) {
    std::unique_ptr<ZSTD_DCtx_s, ContextDeleter> context(ZSTD_createDCtx());
    if (!context)
        return make_error(ErrorCode::decompression_failed, "cannot allocate a zstd context");
    std::size_t set = ZSTD_DCtx_setParameter(context.get(), ZSTD_d_windowLogMax, window_log_max);
    if (ZSTD_isError(set))
        return zstd_error(ErrorCode::invalid_argument,
                          "zstd window log " + std::to_string(window_log_max), set);
    return ZstdDecompressor(std::move(context));
}

std::span<std::uint8_t> ZstdDecompressor::output_buffer() {
    if (output_buffer_.empty())
        output_buffer_.resize(ZSTD_DStreamOutSize());
    return output_buffer_;
}

Result<std::uint64_t> ZstdDecompressor::decompress(ByteView& input,
                                                   std::span<std::uint8_t> output) {
    if (failure_)
        return *failure_;
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    ZSTD_outBuffer out{output.data(), output.size(), 0};
    // At least one call even without input: zstd may hold output not yet flushed.
    do {
        std::size_t consumed_before = in.pos;
        std::size_t hint = ZSTD_decompressStream(context_.get(), &out, &in);
        if (ZSTD_isError(hint)) {
            failure_ = zstd_error(ErrorCode::decompression_failed, "zstd stream", hint);
            return *failure_;
        }
        // 0 means a frame ended and is fully flushed; anything else after
        // consuming input means we are inside one.
        if (hint == 0)
            in_frame_ = false;
        else if (in.pos > consumed_before)
            in_frame_ = true;
    } while (in.pos < in.size && out.pos < out.size);
    input = input.subspan(in.pos);
    return std::uint64_t{out.pos};
}

Result<void> ZstdDecompressor::finish() {
    bool truncated = in_frame_;
    auto failure = failure_;
    reset();
    if (failure)
        return *failure;
    if (truncated)
        return make_error(ErrorCode::decompression_failed,
                          "zstd stream ends inside a frame (truncated input or undrained output)");
    return {};
}

void ZstdDecompressor::reset() {
    ZSTD_DCtx_reset(context_.get(), ZSTD_reset_session_only);
    in_frame_ = false;
    failure_.reset();
}

} // namespace nixedge
