// The wasm modules' C ABI: memory, the result buffer and error names. Linked
// into both modules (nixedge-edge.wasm, nixedge-core.wasm); the operations are
// in exports_edge.cpp (both modules) and exports_lab.cpp (the core module only).
//
// Convention (mirrored by core.mjs; keep both in step, bump ne_abi_version on change):
//   - Inputs are (pointer, length) pairs into memory the caller got from
//     ne_alloc and releases with ne_free; length 0 may come with pointer 0.
//     Integer parameters are plain u32, or i32 where a value may be negative.
//   - Every operation returns a status: 0 = ok, otherwise a nixedge::ErrorCode.
//   - The output goes to ONE module-owned result buffer, read through
//     ne_result_ptr()/ne_result_len(): the value's bytes on success, the
//     error detail on failure (text; it may quote offending input bytes).
//     It stays valid until the next call.
//   - Nothing throws (the modules are built with -fno-exceptions); a trap means
//     a bug or memory exhaustion, and the caller recreates the instance.
#include "abi.hpp"

#include <cstdlib>

namespace nixedge::abi {

namespace {

constexpr std::uint32_t abi_version = 1;

// The result buffer. A global is fine here (an instance serves one call at a
// time); the core itself stays free of them.
std::string g_result;

} // namespace

std::int32_t succeed(std::string_view bytes) {
    g_result.assign(bytes);
    return 0;
}

std::int32_t fail(const Error& error) {
    g_result = error.detail;
    return static_cast<std::int32_t>(error.code);
}

} // namespace nixedge::abi

using namespace nixedge::abi;

NE_EXPORT(ne_abi_version) std::uint32_t ne_abi_version() {
    return abi_version;
}

// Never null for a small request: malloc(0) may be, so ask for one byte.
NE_EXPORT(ne_alloc) void* ne_alloc(std::size_t size) {
    return std::malloc(size == 0 ? 1 : size);
}
NE_EXPORT(ne_free) void ne_free(void* ptr) {
    std::free(ptr);
}

NE_EXPORT(ne_result_ptr) const char* ne_result_ptr() {
    return g_result.data();
}
NE_EXPORT(ne_result_len) std::size_t ne_result_len() {
    return g_result.size();
}

// Gives the result buffer's memory back (after a large result, if it matters).
NE_EXPORT(ne_result_release) void ne_result_release() {
    std::string().swap(g_result);
}

// Stable name of an ErrorCode ("invalid_encoding", ...; "unknown" past the last).
NE_EXPORT(ne_error_name) std::int32_t ne_error_name(std::uint32_t code) {
    return succeed(nixedge::error_code_name(static_cast<nixedge::ErrorCode>(code)));
}
