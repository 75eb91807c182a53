// Micro-benchmarks of the chunking pipeline's stages, each the median MB/s of
// several runs over the same ~256 MiB of real files (see chunk_bench.cpp).
// MB = 10^6 bytes of raw (uncompressed) input.
#pragma once

// FastCDC boundary finding with the default parameters (no hashing, no copy).
double fastcdc_mb_per_s();
// FastCDC chunks, each compressed into one zstd frame at `level`, one core.
double zstd_compress_mb_per_s(int level);
// The concatenated frames decoded as one stream by ZstdDecompressor, in 1 MiB slices.
double zstd_decompress_mb_per_s();
