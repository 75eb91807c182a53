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

// --- narinfo -------------------------------------------------------------------
// The parsed narinfo as JSON: {"storePath", "storeHash", "url", "compression",
// "fileHash", "fileSize", "narHash", "narSize", "references", "deriver",
// "system", "signatures", "ca"}; absent optional fields are null, references
// are base names ("<hash>-<name>"), sizes are JSON numbers. Bytes that are not
// UTF-8 become U+FFFD; narinfo_canonical is the byte-exact form.
Result<std::string> narinfo_parse(ByteView text);
// The canonical text (Nix's field order, sets sorted), as the lab would write it.
Result<std::string> narinfo_canonical(ByteView text);
// "1;<store path>;<NarHash>;<NarSize>;<references>", what Sig lines sign.
Result<std::string> narinfo_fingerprint(ByteView text);
// trusted_keys: "name:base64" public keys separated by whitespace (as in Nix's
// trusted-public-keys). Returns the name of the trusted key whose signature
// verifies; bad_signature when none does.
Result<std::string> narinfo_verify(ByteView text, ByteView trusted_keys);

// --- keys and signatures ---------------------------------------------------------
// A public key "name:base64" in its canonical spelling.
Result<std::string> public_key_parse(ByteView text);
// Pure Ed25519: does `signature` ("name:base64", 64 bytes) verify `message`
// under `public_key` ("name:base64", 32 bytes)? Key names are not compared.
// Ok with an empty result, or bad_signature.
Result<std::string> signature_verify(ByteView public_key, ByteView message, ByteView signature);

} // namespace nixedge::edge
