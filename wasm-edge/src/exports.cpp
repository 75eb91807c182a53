// The edge module's C ABI: the only file that knows it is compiled to wasm.
//
// Convention (mirrored by core.mjs; keep both in step, bump ne_abi_version on change):
//   - Inputs are (pointer, length) pairs into memory the caller got from
//     ne_alloc and releases with ne_free; length 0 may come with pointer 0.
//     Integer parameters are plain u32.
//   - Every operation returns a status: 0 = ok, otherwise a nixedge::ErrorCode.
//   - The output goes to ONE module-owned result buffer, read through
//     ne_result_ptr()/ne_result_len(): the value's bytes on success, the
//     error detail (UTF-8) on failure. It stays valid until the next call.
//   - Nothing throws (the module is built with -fno-exceptions); a trap means a
//     bug or memory exhaustion, and the caller recreates the instance.
#include "nixedge/encoding.hpp"
#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#define NE_EXPORT(name) extern "C" __attribute__((export_name(#name)))

namespace {

using namespace nixedge;

constexpr std::uint32_t abi_version = 1;

// The result buffer. A global is fine here (one instance serves one request at
// a time); the core itself stays free of them.
std::string g_result;

std::int32_t succeed(std::string_view bytes) {
    g_result.assign(bytes);
    return 0;
}
std::int32_t succeed(ByteView bytes) { return succeed(as_chars(bytes)); }

std::int32_t fail(const Error& error) {
    g_result = error.detail;
    return static_cast<std::int32_t>(error.code);
}

template <class T> std::int32_t finish(const Result<T>& result) {
    return result.ok() ? succeed(ByteView(*result)) : fail(result.error());
}

// A (pointer, length) argument. A null pointer with a non-zero length is a
// caller bug, reported as invalid_argument rather than read through.
struct Input {
    const std::uint8_t* data;
    std::size_t size;
    bool valid() const { return data != nullptr || size == 0; }
    ByteView bytes() const { return size == 0 ? ByteView{} : ByteView{data, size}; }
    std::string_view text() const { return as_chars(bytes()); }
};

std::int32_t bad_input() {
    return fail(make_error(ErrorCode::invalid_argument, "null pointer with non-zero length"));
}

} // namespace

// --- memory and results -------------------------------------------------------

NE_EXPORT(ne_abi_version) std::uint32_t ne_abi_version() { return abi_version; }

// Never returns null for a small request: malloc(0) may, so ask for one byte.
NE_EXPORT(ne_alloc) void* ne_alloc(std::size_t size) { return std::malloc(size == 0 ? 1 : size); }
NE_EXPORT(ne_free) void ne_free(void* ptr) { std::free(ptr); }

NE_EXPORT(ne_result_ptr) const char* ne_result_ptr() { return g_result.data(); }
NE_EXPORT(ne_result_len) std::size_t ne_result_len() { return g_result.size(); }

// Drops the result buffer's memory (after a large result, if the caller cares).
NE_EXPORT(ne_result_release) void ne_result_release() { std::string().swap(g_result); }

// Stable name of an ErrorCode ("invalid_encoding", ...; "unknown" past the last).
NE_EXPORT(ne_error_name) std::int32_t ne_error_name(std::uint32_t code) {
    return succeed(error_code_name(static_cast<ErrorCode>(code)));
}

// --- encodings ----------------------------------------------------------------

NE_EXPORT(ne_hex_encode) std::int32_t ne_hex_encode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return in.valid() ? succeed(encoding::to_hex(in.bytes())) : bad_input();
}

NE_EXPORT(ne_hex_decode) std::int32_t ne_hex_decode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return in.valid() ? finish(encoding::from_hex(in.text())) : bad_input();
}

NE_EXPORT(ne_nix32_encode) std::int32_t ne_nix32_encode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return in.valid() ? succeed(encoding::to_nix32(in.bytes())) : bad_input();
}

// byte_count: the decoded length the text must encode (20 for store path hashes, 32 for SHA-256).
NE_EXPORT(ne_nix32_decode)
std::int32_t ne_nix32_decode(const std::uint8_t* p, std::size_t n, std::uint32_t byte_count) {
    Input in{p, n};
    return in.valid() ? finish(encoding::from_nix32(in.text(), byte_count)) : bad_input();
}

NE_EXPORT(ne_base64_encode) std::int32_t ne_base64_encode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return in.valid() ? succeed(encoding::to_base64(in.bytes())) : bad_input();
}

NE_EXPORT(ne_base64_decode) std::int32_t ne_base64_decode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return in.valid() ? finish(encoding::from_base64(in.text())) : bad_input();
}

// --- hashing ------------------------------------------------------------------

NE_EXPORT(ne_sha256) std::int32_t ne_sha256(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    if (!in.valid())
        return bad_input();
    auto digest = Sha256::digest(in.bytes());
    return succeed(ByteView(digest));
}
