// The edge module's C ABI: the only file that knows it is compiled to wasm.
//
// Convention (mirrored by core.mjs; keep both in step, bump ne_abi_version on change):
//   - Inputs are (pointer, length) pairs into memory the caller got from
//     ne_alloc and releases with ne_free; length 0 may come with pointer 0.
//     Integer parameters are plain u32.
//   - Every operation returns a status: 0 = ok, otherwise a nixedge::ErrorCode.
//   - The output goes to ONE module-owned result buffer, read through
//     ne_result_ptr()/ne_result_len(): the value's bytes on success, the
//     error detail on failure (text; it may quote offending input bytes).
//     It stays valid until the next call.
//   - Nothing throws (the module is built with -fno-exceptions); a trap means a
//     bug or memory exhaustion, and the caller recreates the instance.
#include "operations.hpp"

#include "nixedge/result.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>

#define NE_EXPORT(name) extern "C" __attribute__((export_name(#name)))

namespace {

using namespace nixedge;

constexpr std::uint32_t abi_version = 1;

// The result buffer. A global is fine here (an instance serves one call at a
// time); the core itself stays free of them.
std::string g_result;

std::int32_t succeed(std::string_view bytes) {
    g_result.assign(bytes);
    return 0;
}

std::int32_t deliver(const std::string& text) {
    return succeed(text);
}
std::int32_t deliver(const Bytes& bytes) {
    return succeed(as_chars(bytes));
}
template <class T> std::int32_t deliver(const Result<T>& result) {
    if (result.ok())
        return deliver(*result);
    g_result = result.error().detail;
    return static_cast<std::int32_t>(result.error().code);
}

// A (pointer, length) argument.
struct Input {
    const std::uint8_t* data;
    std::size_t size;
    ByteView bytes() const { return size == 0 ? ByteView{} : ByteView{data, size}; }
};

// Checks the inputs, then runs the operation and delivers its outcome. A null
// pointer with a non-zero length is a caller bug: invalid_argument, never read.
template <class Operation> std::int32_t run(std::initializer_list<Input> inputs, Operation op) {
    for (const Input& in : inputs)
        if (in.data == nullptr && in.size != 0)
            return deliver(Result<Bytes>(
                make_error(ErrorCode::invalid_argument, "null pointer with non-zero length")));
    return deliver(op());
}

} // namespace

// --- memory and results -------------------------------------------------------

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
    return succeed(error_code_name(static_cast<ErrorCode>(code)));
}

// --- operations (one line each; the work is in operations.cpp) -----------------

NE_EXPORT(ne_hex_encode) std::int32_t ne_hex_encode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::hex_encode(in.bytes()); });
}

NE_EXPORT(ne_hex_decode) std::int32_t ne_hex_decode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::hex_decode(in.bytes()); });
}

NE_EXPORT(ne_nix32_encode) std::int32_t ne_nix32_encode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::nix32_encode(in.bytes()); });
}

NE_EXPORT(ne_nix32_decode)
std::int32_t ne_nix32_decode(const std::uint8_t* p, std::size_t n, std::uint32_t byte_count) {
    Input in{p, n};
    return run({in}, [&] { return edge::nix32_decode(in.bytes(), byte_count); });
}

NE_EXPORT(ne_base64_encode) std::int32_t ne_base64_encode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::base64_encode(in.bytes()); });
}

NE_EXPORT(ne_base64_decode) std::int32_t ne_base64_decode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::base64_decode(in.bytes()); });
}

NE_EXPORT(ne_sha256) std::int32_t ne_sha256(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::sha256(in.bytes()); });
}

NE_EXPORT(ne_narinfo_parse) std::int32_t ne_narinfo_parse(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::narinfo_parse(in.bytes()); });
}

NE_EXPORT(ne_narinfo_canonical)
std::int32_t ne_narinfo_canonical(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::narinfo_canonical(in.bytes()); });
}

NE_EXPORT(ne_narinfo_fingerprint)
std::int32_t ne_narinfo_fingerprint(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::narinfo_fingerprint(in.bytes()); });
}

NE_EXPORT(ne_narinfo_verify)
std::int32_t ne_narinfo_verify(const std::uint8_t* p, std::size_t n, const std::uint8_t* keys_p,
                               std::size_t keys_n) {
    Input in{p, n}, keys{keys_p, keys_n};
    return run({in, keys}, [&] { return edge::narinfo_verify(in.bytes(), keys.bytes()); });
}

NE_EXPORT(ne_public_key_parse)
std::int32_t ne_public_key_parse(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::public_key_parse(in.bytes()); });
}

NE_EXPORT(ne_signature_verify)
std::int32_t ne_signature_verify(const std::uint8_t* key_p, std::size_t key_n,
                                 const std::uint8_t* msg_p, std::size_t msg_n,
                                 const std::uint8_t* sig_p, std::size_t sig_n) {
    Input key{key_p, key_n}, message{msg_p, msg_n}, signature{sig_p, sig_n};
    return run({key, message, signature}, [&] {
        return edge::signature_verify(key.bytes(), message.bytes(), signature.bytes());
    });
}
