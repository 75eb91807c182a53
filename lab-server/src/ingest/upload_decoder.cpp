#include "ingest/upload_decoder.hpp"

#include "nixedge/zstd_frames.hpp"

#include <brotli/decode.h>
#include <bzlib.h>
#include <lzma.h>

#include <array>
#include <string>

namespace nixedge::lab {

namespace {

constexpr std::size_t output_block = 256 * 1024;

Error decode_error(std::string_view format, std::string detail) {
    return make_error(ErrorCode::decompression_failed,
                      std::string(format) + " upload does not decode: " + std::move(detail));
}

class IdentityDecoder final : public UploadDecoder {
  public:
    Result<void> feed(ByteView input, const ByteSink& sink) override {
        return input.empty() ? Result<void>() : sink(input);
    }
    Result<void> finish(const ByteSink&) override { return {}; }
};

class ZstdDecoder final : public UploadDecoder {
  public:
    explicit ZstdDecoder(ZstdDecompressor decompressor) : decompressor_(std::move(decompressor)) {}

    Result<void> feed(ByteView input, const ByteSink& sink) override {
        Result<void> sunk;
        auto fed = decompressor_.feed(input, [&](ByteView out) {
            if (sunk)
                sunk = sink(out);
        });
        if (!sunk)
            return sunk;
        if (!fed)
            return decode_error("zstd", fed.error().detail);
        return {};
    }
    Result<void> finish(const ByteSink&) override {
        if (auto done = decompressor_.finish(); !done)
            return decode_error("zstd", done.error().detail);
        return {};
    }

  private:
    ZstdDecompressor decompressor_;
};

// xz: one or more concatenated .xz streams (LZMA_CONCATENATED), as xz(1) reads them.
class XzDecoder final : public UploadDecoder {
  public:
    static Result<std::unique_ptr<UploadDecoder>> create() {
        auto decoder = std::unique_ptr<XzDecoder>(new XzDecoder);
        // No memory limit beyond liblzma's checks: the window size is what
        // bounds memory, and xz presets use at most 64 MiB.
        if (lzma_stream_decoder(&decoder->stream_, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
            return decode_error("xz", "cannot initialise the decoder");
        return std::unique_ptr<UploadDecoder>(std::move(decoder));
    }
    ~XzDecoder() override { lzma_end(&stream_); }

    Result<void> feed(ByteView input, const ByteSink& sink) override {
        return run(input, LZMA_RUN, sink);
    }
    Result<void> finish(const ByteSink& sink) override { return run({}, LZMA_FINISH, sink); }

  private:
    XzDecoder() = default;

    Result<void> run(ByteView input, lzma_action action, const ByteSink& sink) {
        stream_.next_in = input.data();
        stream_.avail_in = input.size();
        for (;;) {
            stream_.next_out = output_.data();
            stream_.avail_out = output_.size();
            auto status = lzma_code(&stream_, action);
            auto produced = output_.size() - stream_.avail_out;
            if (produced > 0)
                if (auto sunk = sink(ByteView(output_.data(), produced)); !sunk)
                    return sunk;
            if (status == LZMA_STREAM_END)
                return {};
            if (status != LZMA_OK)
                return decode_error("xz", "liblzma error " + std::to_string(status));
            if (stream_.avail_in == 0 && produced < output_.size()) {
                if (action == LZMA_FINISH)
                    return decode_error("xz", "truncated stream");
                return {};
            }
        }
    }

    lzma_stream stream_ = LZMA_STREAM_INIT;
    std::array<std::uint8_t, output_block> output_{};
};

// bzip2: one stream, or several concatenated (as pbzip2 writes them).
class Bzip2Decoder final : public UploadDecoder {
  public:
    Bzip2Decoder() { start_stream(); }
    ~Bzip2Decoder() override { BZ2_bzDecompressEnd(&stream_); }

    Result<void> feed(ByteView input, const ByteSink& sink) override {
        while (!input.empty()) {
            if (stream_ended_) {
                BZ2_bzDecompressEnd(&stream_);
                start_stream();
            }
            auto consumed = decode(input, sink);
            if (!consumed)
                return consumed.error();
            input = input.subspan(*consumed);
        }
        return {};
    }

    Result<void> finish(const ByteSink&) override {
        if (!stream_ended_)
            return decode_error("bzip2", "truncated stream");
        return {};
    }

  private:
    void start_stream() {
        stream_ = bz_stream{};
        BZ2_bzDecompressInit(&stream_, 0, 0);
        stream_ended_ = false;
    }

    // Decodes until `input` is used up or the stream ends; returns bytes consumed.
    Result<std::size_t> decode(ByteView input, const ByteSink& sink) {
        stream_.next_in = const_cast<char*>(reinterpret_cast<const char*>(input.data()));
        stream_.avail_in = static_cast<unsigned>(input.size());
        for (;;) {
            stream_.next_out = reinterpret_cast<char*>(output_.data());
            stream_.avail_out = static_cast<unsigned>(output_.size());
            auto status = BZ2_bzDecompress(&stream_);
            auto produced = output_.size() - stream_.avail_out;
            if (produced > 0)
                if (auto sunk = sink(ByteView(output_.data(), produced)); !sunk)
                    return sunk.error();
            if (status == BZ_STREAM_END) {
                stream_ended_ = true;
                return input.size() - stream_.avail_in;
            }
            if (status != BZ_OK)
                return decode_error("bzip2", "libbz2 error " + std::to_string(status));
            if (stream_.avail_in == 0 && produced < output_.size())
                return input.size();
        }
    }

    bz_stream stream_{};
    bool stream_ended_ = false;
    std::array<std::uint8_t, output_block> output_{};
};

class BrotliDecoder final : public UploadDecoder {
  public:
    BrotliDecoder() : state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {}
    ~BrotliDecoder() override { BrotliDecoderDestroyInstance(state_); }

    Result<void> feed(ByteView input, const ByteSink& sink) override {
        const std::uint8_t* next_in = input.data();
        std::size_t avail_in = input.size();
        for (;;) {
            std::uint8_t* next_out = output_.data();
            std::size_t avail_out = output_.size();
            auto status = BrotliDecoderDecompressStream(state_, &avail_in, &next_in, &avail_out,
                                                        &next_out, nullptr);
            auto produced = output_.size() - avail_out;
            if (produced > 0)
                if (auto sunk = sink(ByteView(output_.data(), produced)); !sunk)
                    return sunk;
            if (status == BROTLI_DECODER_RESULT_ERROR)
                return decode_error("brotli",
                                    BrotliDecoderErrorString(BrotliDecoderGetErrorCode(state_)));
            if (status == BROTLI_DECODER_RESULT_SUCCESS) {
                if (avail_in > 0)
                    return decode_error("brotli", "bytes after the end of the stream");
                return {};
            }
            if (status == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
                return {};
        }
    }

    Result<void> finish(const ByteSink&) override {
        if (!BrotliDecoderIsFinished(state_))
            return decode_error("brotli", "truncated stream");
        return {};
    }

  private:
    BrotliDecoderState* state_;
    std::array<std::uint8_t, output_block> output_{};
};

} // namespace

std::string_view compression_name(UploadCompression compression) {
    switch (compression) {
    case UploadCompression::none:
        return "none";
    case UploadCompression::xz:
        return "xz";
    case UploadCompression::bzip2:
        return "bzip2";
    case UploadCompression::zstd:
        return "zstd";
    case UploadCompression::brotli:
        return "br";
    }
    return "unknown";
}

Result<UploadCompression> compression_from_nar_file_name(std::string_view file_name) {
    struct Suffix {
        std::string_view text;
        UploadCompression compression;
    };
    static constexpr Suffix suffixes[] = {
        {".nar", UploadCompression::none},      {".nar.xz", UploadCompression::xz},
        {".nar.bz2", UploadCompression::bzip2}, {".nar.zst", UploadCompression::zstd},
        {".nar.br", UploadCompression::brotli},
    };
    for (const auto& suffix : suffixes)
        if (file_name.ends_with(suffix.text))
            return suffix.compression;
    return make_error(ErrorCode::invalid_argument,
                      "'" + std::string(file_name) +
                          "' is not a NAR file name (.nar, .nar.xz, .nar.bz2, .nar.zst, .nar.br)");
}

Result<std::unique_ptr<UploadDecoder>> make_upload_decoder(UploadCompression compression) {
    switch (compression) {
    case UploadCompression::none:
        return std::unique_ptr<UploadDecoder>(new IdentityDecoder);
    case UploadCompression::xz:
        return XzDecoder::create();
    case UploadCompression::bzip2:
        return std::unique_ptr<UploadDecoder>(new Bzip2Decoder);
    case UploadCompression::brotli:
        return std::unique_ptr<UploadDecoder>(new BrotliDecoder);
    case UploadCompression::zstd: {
        auto decompressor = ZstdDecompressor::create();
        if (!decompressor)
            return decompressor.error();
        return std::unique_ptr<UploadDecoder>(new ZstdDecoder(std::move(decompressor).value()));
    }
    }
    return make_error(ErrorCode::invalid_argument, "unknown compression");
}

} // namespace nixedge::lab
