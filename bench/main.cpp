// nixedge-bench: the native micro-benchmarks, one core each, printed as
// markdown table rows that bench/run.sh puts into docs/benchmarks.md.
// `nixedge-bench ingest-bound NAR...` is the lab benchmarks' ingest bound
// instead (bench/ingest_bound.cpp).
#include "chunk_benches.hpp"
#include "core_benches.hpp"
#include "ingest_bound.hpp"
#include "nar_benches.hpp"

#include <cstdio>
#include <cstring>
#include <optional>

namespace {

struct Figure {
    const char* what;
    double value;
    const char* unit;
    std::optional<double> target = std::nullopt; // none: recorded, no target set
    bool higher_is_better = true;
};

void print(const Figure& f) {
    if (!f.target) {
        std::printf("| %s | native | %.1f %s | — | recorded |\n", f.what, f.value, f.unit);
    } else {
        bool met = f.higher_is_better ? f.value >= *f.target : f.value <= *f.target;
        std::printf("| %s | native | %.1f %s | %s %.0f %s | %s |\n", f.what, f.value, f.unit,
                    f.higher_is_better ? ">=" : "<=", *f.target, f.unit,
                    met ? "met" : "**missed**");
    }
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
    using namespace nixedge::bench;
    if (argc > 1 && std::strcmp(argv[1], "ingest-bound") == 0)
        return ingest_bound_main(argc - 2, argv + 2);
    if (argc > 1) {
        std::fprintf(stderr, "usage: nixedge-bench [ingest-bound [--threads N] [--level L] "
                             "[--repeat R] NAR...]\n");
        return 2;
    }
    print({"SHA-256 (1 MiB updates)", sha256_mb_per_s(), "MB/s", 1500});
    print({"FastCDC boundaries (256K/1M/4M)", fastcdc_mb_per_s(), "MB/s", 1000});
    print({"zstd compress, level 3 (lab default), frame per chunk", zstd_compress_mb_per_s(3),
           "MB/s"});
    print({"zstd decompress, concatenated frames", zstd_decompress_mb_per_s(), "MB/s"});
    print({"narinfo parse + Ed25519 verify", narinfo_parse_verify_us(), "µs", 100, false});
    print({"NAR parse, realistic mix (256 MiB, 64 KiB slices)", nar_parse_mb_per_s(256u << 20),
           "MB/s", 2000});
    print({"NAR parse, worst case: all files < 600 B (64 MiB)",
           nar_parse_tiny_files_mb_per_s(64u << 20), "MB/s", 2000});
    return 0;
}
