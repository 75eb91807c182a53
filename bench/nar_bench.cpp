// NAR parser throughput (native, one core).
#include "nar_benches.hpp"

#include "bench_util.hpp"
#include "nixedge/nar.hpp"

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace nixedge::bench {
namespace {

constexpr std::size_t slice_size = 64 * 1024;

std::string numbered(char prefix, std::uint64_t n) {
    char name[32];
    std::snprintf(name, sizeof name, "%c%06llu", prefix, static_cast<unsigned long long>(n));
    return name;
}

void check(const Result<void>& result) {
    if (!result) {
        std::fprintf(stderr, "nar bench: %s\n", result.error().detail.c_str());
        std::abort();
    }
}

enum class Shape {
    // A typical store path: a few large files, some medium ones and many small
    // ones (mostly under 8 KiB).
    mixed,
    // The parser's worst case: every file under 600 bytes, so per-entry work
    // dominates.
    tiny_files,
};

// 64 entries per directory, some of them symlinks. Contents are slices of one
// random buffer, so they do not compress or repeat at page granularity.
class RealisticNar {
  public:
    RealisticNar(std::uint64_t nar_bytes, Shape shape)
        : shape_(shape), target_(nar_bytes),
          pool_(std::max<std::uint64_t>(nar_bytes / 16, 1 << 20)) {
        for (std::size_t i = 0; i < pool_.size(); i += 8) {
            const std::uint64_t word = rng_();
            for (std::size_t b = 0; b < 8 && i + b < pool_.size(); ++b)
                pool_[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
        }
    }

    Bytes build() {
        check(writer_.start_directory(""));
        if (shape_ == Shape::mixed) {
            check(writer_.start_directory("big"));
            for (int i = 0; i < 3; ++i)
                add_file(numbered('f', i), pool_.size());
            check(writer_.end_directory());
        }
        for (std::uint64_t dir = 0; written_ < target_; ++dir)
            add_directory(dir);
        check(writer_.end_directory());
        return writer_.take_output();
    }

  private:
    void add_directory(std::uint64_t number) {
        check(writer_.start_directory(numbered('d', number)));
        for (int i = 0; i < 56; ++i)
            add_file(numbered('f', i), random_file_size());
        for (int i = 0; i < 8; ++i)
            check(writer_.symlink(numbered('s', i), "../lib/libexample.so.1"));
        check(writer_.end_directory());
    }

    std::uint64_t random_file_size() {
        if (shape_ == Shape::tiny_files)
            return rng_() % 600;
        const auto kind = rng_() % 100;
        if (kind < 2) // medium: 256 KiB .. 2 MiB
            return (256 << 10) + rng_() % (1792 << 10);
        // small: below a power of two picked from 16 B .. 32 KiB
        const auto bits = 4 + rng_() % 12;
        return rng_() % (std::uint64_t{1} << bits);
    }

    void add_file(const std::string& name, std::uint64_t size) {
        size = std::min<std::uint64_t>(size, pool_.size());
        const auto start = static_cast<std::size_t>(rng_() % (pool_.size() - size + 1));
        check(writer_.file(name, ByteView(pool_).subspan(start, size), rng_() % 10 == 0));
        written_ += size;
    }

    Shape shape_;
    std::uint64_t target_;
    std::uint64_t written_ = 0;
    std::mt19937_64 rng_{42};
    Bytes pool_;
    NarWriter writer_;
};

double parse_mb_per_s(const Bytes& nar) {
    const ByteView all(nar);
    const double seconds = median_seconds(
        [&] {
            NarParser parser;
            std::uint64_t file_bytes = 0, entries = 0;
            auto count = [&](const NarEvent& event) {
                if (event.type == NarEventType::file_data)
                    file_bytes += event.data.size();
                else
                    ++entries;
                return Result<void>{};
            };
            for (std::size_t at = 0; at < all.size(); at += slice_size)
                check(for_each_nar_event(
                    parser, all.subspan(at, std::min(slice_size, all.size() - at)), count));
            check(parser.finish());
            keep(file_bytes);
            keep(entries);
        },
        5);
    return static_cast<double>(nar.size()) / seconds / 1e6;
}

} // namespace

double nar_parse_mb_per_s(std::uint64_t nar_bytes) {
    return parse_mb_per_s(RealisticNar(nar_bytes, Shape::mixed).build());
}

double nar_parse_tiny_files_mb_per_s(std::uint64_t nar_bytes) {
    return parse_mb_per_s(RealisticNar(nar_bytes, Shape::tiny_files).build());
}

} // namespace nixedge::bench
