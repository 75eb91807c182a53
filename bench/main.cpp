// nixedge-bench: runs the micro-benchmarks and prints one figure per line.
#include "chunk_benches.hpp"

#include <cstdio>
#include <initializer_list>

int main() {
    std::printf("fastcdc                 %8.0f MB/s\n", fastcdc_mb_per_s());
    for (int level : {1, 3, 9})
        std::printf("zstd compress level %-2d  %8.0f MB/s\n", level, zstd_compress_mb_per_s(level));
    std::printf("zstd decompress         %8.0f MB/s\n", zstd_decompress_mb_per_s());
    return 0;
}
