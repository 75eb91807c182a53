// What the wasm modules can do, as plain C++ over bytes, in two groups:
//   - nixedge::edge (operations_edge.cpp): what the Worker needs. In both
//     nixedge-edge.wasm and nixedge-core.wasm; wrapped by exports_edge.cpp.
//   - nixedge::lab (operations_lab.cpp): chunking, zstd and NAR parsing, which
//     only the lab runs. Only in nixedge-core.wasm (vectors and benchmarks of
//     the core on wasm32); wrapped by exports_lab.cpp. The edge module must
//     not carry them (tests/wasm checks its link map).
// tests/wasm/make_vectors.cpp calls the very same functions natively, so
// native and wasm outputs can be compared one to one. Nothing here is
// wasm-specific and nothing here keeps state.
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

// --- manifests and Range ----------------------------------------------------------
// The manifest as JSON: {"name": manifest_name, "narHash": "sha256:<nix32>",
// "narSize", "storedSize" (sum of stored sizes: the .nar.zst's length),
// "chunks": [{"hash": hex, "rawSize", "storedSize"}, ...]}. Sizes are JSON
// numbers (exact: the manifest limits keep them below 2^47).
Result<std::string> manifest_decode(ByteView bytes);
// The name of these bytes as a manifest (lowercase hex SHA-256); no decoding.
std::string manifest_name(ByteView bytes);
// The answer to a GET of the NAR the manifest describes, with `Range:
// range_header` (empty: no header), as JSON:
//   {"status": 200 | 206 | 416, "first", "last" (206: the inclusive byte
//    range, else null), "contentLength" (200, 206; else null), "contentRange"
//    (206: "bytes a-b/T", 416: "bytes */T", else null), "storedSize": T,
//    "span": {"firstChunk", "firstOffset", "lastChunk", "lastEnd"} | null}
// span: the chunk objects to fetch, the first from firstOffset, the last up to
// lastEnd (exclusive); null when nothing is sent (416, or an empty body).
// Fails only for a malformed manifest; a malformed header means 200.
Result<std::string> range_plan(ByteView manifest, ByteView range_header);

// --- serving a cache (what the Worker calls per request) ----------------------------
// The object a request path names (see cache_path.hpp), as JSON:
//   {"object": "nix_cache_info" | "narinfo" | "listing" | "nar", "cache",
//    "hash" (narinfo, listing: the store hash; nar: the manifest's hex; else ""),
//    "key" (the bucket key to read: the object itself, or for a NAR its manifest),
//    "narinfoKey" (the cache's narinfo for that store hash; listing only, else "")}
// not_found or invalid_cache_name for a path that names nothing.
Result<std::string> route(ByteView path, ByteView default_cache);
// Whether a narinfo read from the bucket at the key of `store_hash` may be
// served: it parses, names that store hash, points at a manifest
// ("nar/<hex>.nar.zst", Compression: zstd) and carries a signature by one of
// `trusted_keys` (as narinfo_verify). As JSON {"signer", "manifest" (hex),
// "manifestKey", "narSize", "fileSize"}. invalid_narinfo or bad_signature.
Result<std::string> narinfo_check(ByteView text, ByteView trusted_keys, ByteView store_hash);
// range_plan for the NAR of manifest `name` (64 hex), after checking that the
// bytes read are that manifest (they hash to its name: invalid_manifest if
// not). Adds "chunks": [{"key", "storedSize"}] for the chunks of the span, in
// order (empty when span is null).
Result<std::string> nar_plan(ByteView manifest, ByteView name, ByteView range_header);

// --- names -------------------------------------------------------------------------
// A full store path "/nix/store/<hash>-<name>" as JSON {"storePath", "hash", "name"}.
Result<std::string> store_path_parse(ByteView text);
// Ok (empty) or invalid_cache_name.
Result<std::string> cache_name_validate(ByteView name);
// "nar/<64 hex>.nar.zst" (a narinfo's URL) -> the manifest's name (the hex).
Result<std::string> nar_url_parse(ByteView url);
// The bucket key of an object, as bucket_layout.hpp names it. kind is the
// bucket_key function's name: layout_marker, sync_plan, sync_status (no
// arguments), chunk, manifest (hash: 64 lowercase hex), nix_cache_info
// (cache), narinfo, listing (cache and a 32-character store hash). Arguments
// a kind does not take must be empty; all are validated.
Result<std::string> bucket_key(ByteView kind, ByteView cache, ByteView hash);

} // namespace nixedge::edge

namespace nixedge::lab {

// FastCDC boundaries of `data` fed in one piece, as a JSON array of chunk lengths.
Result<std::string> chunk_lengths(ByteView data, std::uint32_t min_size, std::uint32_t avg_size,
                                  std::uint32_t max_size);
// Nix's .ls listing of a NAR, or why the NAR is refused.
Result<std::string> nar_listing(ByteView nar);
// Concatenated zstd frames -> the raw bytes (at most max_decompressed_size).
inline constexpr std::uint64_t max_decompressed_size = std::uint64_t{256} << 20;
Result<Bytes> zstd_decompress(ByteView frames);
// One frame with content size and checksum, as the lab stores chunks. The
// bytes depend on the zstd version; only what they decompress to is fixed.
Result<Bytes> zstd_compress_frame(ByteView data, std::int32_t level);

} // namespace nixedge::lab
