// What the edge module can do, as plain C++ over bytes. exports.cpp wraps each
// function in the C ABI; tests/wasm/make_vectors.cpp calls the very same
// functions natively, so native and wasm outputs can be compared one to one.
// Nothing here is wasm-specific and nothing here keeps state.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <cstdint>
#include <string>

namespace nixedge::edge {

std::string hex_encode(ByteView data);
Result<Bytes> hex_decode(ByteView text);
std::string nix32_encode(ByteView data);
// byte_count: the decoded length the text must encode (20 for store path
// hashes, 32 for SHA-256 digests).
Result<Bytes> nix32_decode(ByteView text, std::uint32_t byte_count);
std::string base64_encode(ByteView data);
Result<Bytes> base64_decode(ByteView text);

Bytes sha256(ByteView data);

} // namespace nixedge::edge
