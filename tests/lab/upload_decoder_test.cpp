#include "ingest/upload_decoder.hpp"
#include "test_files.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

using namespace nixedge;
using namespace nixedge::lab;

namespace {

std::string sample_data() {
    std::string data;
    for (std::uint32_t i = 0; i < 300000; ++i)
        data += static_cast<char>((i * 7919u) % 251 < 120 ? 'a' + i % 26 : (i * 31u) & 0xff);
    return data;
}

// Compresses with the real command-line tool, the way a client would.
std::string compress_with(const std::string& command, const std::string& data) {
    auto dir =
        std::filesystem::temp_directory_path() / ("nixedge-decoder-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto in = dir / "in", out = dir / "out";
    std::ofstream(in, std::ios::binary) << data;
    auto shell = command + " < '" + in.string() + "' > '" + out.string() + "'";
    REQUIRE(std::system(shell.c_str()) == 0);
    auto compressed = test::read_file(out);
    std::filesystem::remove_all(dir);
    return compressed;
}

Result<std::string> decode(UploadCompression compression, const std::string& encoded,
                           std::size_t slice) {
    auto decoder = make_upload_decoder(compression);
    REQUIRE(decoder.ok());
    std::string decoded;
    ByteSink sink = [&](ByteView piece) -> Result<void> {
        decoded.append(as_chars(piece));
        return {};
    };
    auto bytes = as_bytes(encoded);
    for (std::size_t at = 0; at < bytes.size(); at += slice)
        if (auto fed =
                (*decoder)->feed(bytes.subspan(at, std::min(slice, bytes.size() - at)), sink);
            !fed)
            return fed.error();
    if (auto done = (*decoder)->finish(sink); !done)
        return done.error();
    return decoded;
}

struct Format {
    UploadCompression compression;
    std::string command;
};

const Format formats[] = {
    {UploadCompression::none, "cat"},         {UploadCompression::xz, "xz -6 -c"},
    {UploadCompression::bzip2, "bzip2 -c"},   {UploadCompression::zstd, "zstd -q -c"},
    {UploadCompression::brotli, "brotli -c"},
};

} // namespace

TEST_CASE("file names choose the decoder as Nix names its uploads", "[upload_decoder]") {
    CHECK(*compression_from_nar_file_name("abc.nar") == UploadCompression::none);
    CHECK(*compression_from_nar_file_name("abc.nar.xz") == UploadCompression::xz);
    CHECK(*compression_from_nar_file_name("abc.nar.bz2") == UploadCompression::bzip2);
    CHECK(*compression_from_nar_file_name("abc.nar.zst") == UploadCompression::zstd);
    CHECK(*compression_from_nar_file_name("abc.nar.br") == UploadCompression::brotli);
    CHECK_FALSE(compression_from_nar_file_name("abc.nar.gz").ok());
    CHECK_FALSE(compression_from_nar_file_name("abc.tar").ok());
}

TEST_CASE("each format decodes what its real tool made, in any slicing", "[upload_decoder]") {
    auto data = sample_data();
    for (const auto& format : formats) {
        INFO(compression_name(format.compression));
        auto encoded = compress_with(format.command, data);
        for (std::size_t slice : {std::size_t{1}, std::size_t{4093}, encoded.size()}) {
            auto decoded = decode(format.compression, encoded, slice);
            REQUIRE(decoded.ok());
            CHECK(*decoded == data);
        }
    }
}

TEST_CASE("concatenated streams decode as one (xz, bzip2, zstd)", "[upload_decoder]") {
    auto data = sample_data();
    for (const auto& format : formats) {
        if (format.compression == UploadCompression::none ||
            format.compression == UploadCompression::brotli)
            continue;
        INFO(compression_name(format.compression));
        auto encoded = compress_with(format.command, data) + compress_with(format.command, "tail");
        auto decoded = decode(format.compression, encoded, 1000);
        REQUIRE(decoded.ok());
        CHECK(*decoded == data + "tail");
    }
}

TEST_CASE("truncated or corrupt uploads fail with decompression_failed", "[upload_decoder]") {
    auto data = sample_data();
    for (const auto& format : formats) {
        if (format.compression == UploadCompression::none)
            continue;
        INFO(compression_name(format.compression));
        auto encoded = compress_with(format.command, data);
        auto truncated = decode(format.compression, encoded.substr(0, encoded.size() / 2), 777);
        REQUIRE_FALSE(truncated.ok());
        CHECK(truncated.error().code == ErrorCode::decompression_failed);

        auto corrupt = encoded;
        for (std::size_t i = 0; i < 16; ++i)
            corrupt[i] = static_cast<char>(~corrupt[i]);
        auto garbled = decode(format.compression, corrupt, 777);
        REQUIRE_FALSE(garbled.ok());
        CHECK(garbled.error().code == ErrorCode::decompression_failed);
    }
}

TEST_CASE("a failing sink stops decoding with its own error", "[upload_decoder]") {
    auto encoded = compress_with("xz -c", sample_data());
    auto decoder = make_upload_decoder(UploadCompression::xz);
    REQUIRE(decoder.ok());
    ByteSink refuse = [](ByteView) -> Result<void> {
        return make_error(ErrorCode::limit_exceeded, "too big");
    };
    auto fed = (*decoder)->feed(as_bytes(encoded), refuse);
    REQUIRE_FALSE(fed.ok());
    CHECK(fed.error().code == ErrorCode::limit_exceeded);
}
