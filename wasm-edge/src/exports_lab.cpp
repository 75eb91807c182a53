// The lab operations' C ABI: one ne_* wrapper per nixedge::lab operation. Only
// in nixedge-core.wasm; the convention is in abi.cpp, the work in operations_lab.cpp.
#include "abi.hpp"
#include "operations.hpp"

using namespace nixedge;
using abi::Input;
using abi::run;

NE_EXPORT(ne_chunk_lengths)
std::int32_t ne_chunk_lengths(const std::uint8_t* p, std::size_t n, std::uint32_t min_size,
                              std::uint32_t avg_size, std::uint32_t max_size) {
    Input in{p, n};
    return run({in}, [&] { return lab::chunk_lengths(in.bytes(), min_size, avg_size, max_size); });
}

NE_EXPORT(ne_nar_listing) std::int32_t ne_nar_listing(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return lab::nar_listing(in.bytes()); });
}

NE_EXPORT(ne_zstd_decompress)
std::int32_t ne_zstd_decompress(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return lab::zstd_decompress(in.bytes()); });
}

NE_EXPORT(ne_zstd_compress_frame)
std::int32_t ne_zstd_compress_frame(const std::uint8_t* p, std::size_t n, std::int32_t level) {
    Input in{p, n};
    return run({in}, [&] { return lab::zstd_compress_frame(in.bytes(), level); });
}
