// Declarations of the micro-benchmarks that bench/main.cpp runs; each module's
// benchmarks live in bench/<module>_bench.cpp.
#pragma once

#include <cstdint>

namespace nixedge::bench {

// NarParser throughput on a realistic in-memory NAR of about `nar_bytes`
// (many small files, some medium, a few large), fed in 64 KiB slices as a
// server reads a request body; median of several runs, in MB/s (10^6 bytes).
double nar_parse_mb_per_s(std::uint64_t nar_bytes);
// The same with every file under 600 bytes: the per-entry cost, the worst case.
double nar_parse_tiny_files_mb_per_s(std::uint64_t nar_bytes);

} // namespace nixedge::bench
