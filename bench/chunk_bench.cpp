// Benchmarks may do I/O; the core may not. The input is a mix that resembles
// NARs: mostly ELF binaries and shared libraries, plus text (docs, scripts,
// data files), read from this machine's /usr in a fixed order.
#include "chunk_benches.hpp"

#include "nixedge/chunker.hpp"
#include "nixedge/zstd_frames.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using namespace nixedge;

namespace {

constexpr std::uint64_t corpus_size = std::uint64_t{256} << 20;
constexpr int runs = 5;

// Appends regular files under `root` (sorted, so every run reads the same
// bytes) until `out` holds `limit` bytes.
void append_files(const std::string& root, std::uint64_t limit, Bytes& out) {
    std::vector<std::filesystem::path> paths;
    std::error_code error;
    for (std::filesystem::recursive_directory_iterator it(root, error), end; !error && it != end;
         it.increment(error)) {
        if (it->is_regular_file(error) && !it->is_symlink(error))
            paths.push_back(it->path());
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
        if (out.size() >= limit)
            return;
        std::ifstream file(path, std::ios::binary);
        Bytes content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        std::uint64_t take = std::min<std::uint64_t>(content.size(), limit - out.size());
        out.insert(out.end(), content.begin(), content.begin() + static_cast<std::ptrdiff_t>(take));
    }
}

const Bytes& corpus() {
    static const Bytes data = [] {
        Bytes out;
        out.reserve(corpus_size);
        append_files("/usr/lib/x86_64-linux-gnu", corpus_size / 2, out);
        append_files("/usr/bin", corpus_size * 5 / 8, out);
        append_files("/usr/share", corpus_size, out);
        append_files("/usr/lib", corpus_size, out); // tops up on a small system
        if (out.size() < corpus_size / 4) {
            std::fprintf(stderr, "chunk_bench: only %zu bytes of files found under /usr\n",
                         out.size());
            std::exit(1);
        }
        return out;
    }();
    return data;
}

// Median MB/s of `runs` timed calls of `work`, which processes `bytes` bytes.
double median_mb_per_s(std::uint64_t bytes, const std::function<void()>& work) {
    std::vector<double> rates;
    for (int i = 0; i < runs; ++i) {
        auto start = std::chrono::steady_clock::now();
        work();
        std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        rates.push_back(static_cast<double>(bytes) / 1e6 / elapsed.count());
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

template <class T> T must(Result<T> result) {
    if (!result) {
        std::fprintf(stderr, "chunk_bench: %s\n", result.error().detail.c_str());
        std::exit(1);
    }
    return std::move(result).value();
}

void must(Result<void> result) {
    if (!result) {
        std::fprintf(stderr, "chunk_bench: %s\n", result.error().detail.c_str());
        std::exit(1);
    }
}

std::vector<ByteView> chunks_of(const Bytes& data) {
    auto chunker = must(Chunker::create());
    std::vector<ByteView> chunks;
    chunker.feed(data, [&](ByteView chunk) { chunks.push_back(chunk); }); // views into `data`
    auto last = chunker.finish();
    if (last) {
        // The tail lives in the chunker; point at the same bytes in `data` instead.
        std::uint64_t offset = data.size() - last->size();
        chunks.push_back(ByteView(data).subspan(offset));
    }
    return chunks;
}

Bytes compress_all(ZstdCompressor& compressor, const std::vector<ByteView>& chunks) {
    Bytes frames;
    for (auto chunk : chunks)
        must(compressor.compress_frame(chunk, frames));
    return frames;
}

} // namespace

double fastcdc_mb_per_s() {
    const Bytes& data = corpus();
    auto chunker = must(Chunker::create());
    std::uint64_t count = 0;
    return median_mb_per_s(data.size(), [&] {
        chunker.feed(data, [&](ByteView) { ++count; });
        chunker.finish([&](ByteView) { ++count; });
    });
}

double zstd_compress_mb_per_s(int level) {
    const Bytes& data = corpus();
    auto chunks = chunks_of(data);
    auto compressor = must(ZstdCompressor::create({level, true}));
    return median_mb_per_s(data.size(), [&] { compress_all(compressor, chunks); });
}

double zstd_decompress_mb_per_s() {
    const Bytes& data = corpus();
    auto compressor = must(ZstdCompressor::create());
    Bytes frames = compress_all(compressor, chunks_of(data));
    auto decompressor = must(ZstdDecompressor::create());
    std::uint64_t produced = 0;
    double rate = median_mb_per_s(data.size(), [&] {
        produced = 0;
        constexpr std::uint64_t slice = 1 << 20;
        for (std::uint64_t offset = 0; offset < frames.size(); offset += slice) {
            auto piece = ByteView(frames).subspan(offset, std::min(slice, frames.size() - offset));
            must(decompressor.feed(piece, [&](ByteView out) { produced += out.size(); }));
        }
        must(decompressor.finish());
    });
    if (produced != data.size()) {
        std::fprintf(stderr, "chunk_bench: decoded %llu bytes, expected %zu\n",
                     static_cast<unsigned long long>(produced), data.size());
        std::exit(1);
    }
    return rate;
}
