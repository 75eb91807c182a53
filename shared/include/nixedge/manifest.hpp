// The chunk manifest: how one NAR is rebuilt from stored chunks. Its encoding
// (docs/manifest-format.md) is strict and canonical, one byte string per
// manifest, because the manifest is named by the SHA-256 of its bytes and that
// name is what a narinfo's URL points at.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge {

inline constexpr std::uint64_t manifest_version = 1;

// Limits, checked by encode and decode alike. 2^17 chunks cover a 128 GiB NAR
// at the default 1 MiB average and keep a decoded manifest (~6 MiB) and its
// text (< 13 MiB) inside the edge's 128 MB.
inline constexpr std::uint64_t max_manifest_chunks = std::uint64_t{1} << 17;
inline constexpr std::uint64_t max_manifest_chunk_size = std::uint64_t{1} << 30; // raw or stored
inline constexpr std::uint64_t max_manifest_bytes = std::uint64_t{16} << 20;

struct ChunkRef {
    Sha256Digest hash{};           // SHA-256 of the raw chunk bytes; names the chunk object
    std::uint64_t raw_size = 0;    // bytes of NAR it holds
    std::uint64_t stored_size = 0; // bytes of its stored zstd frame

    bool operator==(const ChunkRef&) const = default;
};

struct ChunkManifest {
    Sha256Digest nar_hash{}; // SHA-256 of the whole NAR (the narinfo's NarHash)
    std::uint64_t nar_size = 0;
    std::vector<ChunkRef> chunks; // in NAR order; a chunk may appear more than once

    // Sum of stored sizes: the length of the served .nar.zst, the narinfo's FileSize.
    std::uint64_t stored_size() const;
    // Sum of raw sizes; equals nar_size in any valid manifest.
    std::uint64_t raw_size() const;

    bool operator==(const ChunkManifest&) const = default;
};

// Checks what both encode and decode require: no empty or oversized chunk,
// raw sizes that add up to nar_size, the chunk count limit.
Result<void> validate_manifest(const ChunkManifest& manifest);

// The canonical encoding; fails (invalid_manifest / limit_exceeded) exactly
// when validate_manifest does.
Result<std::string> encode_manifest(const ChunkManifest& manifest);

// Strict decoding: accepts only what encode_manifest produces, so
// encode(decode(bytes)) == bytes. Errors name the offending line.
Result<ChunkManifest> decode_manifest(std::string_view text);
inline Result<ChunkManifest> decode_manifest(ByteView bytes) {
    return decode_manifest(as_chars(bytes));
}

// A manifest's name (its object key under manifests/ and the NAR URL's stem):
// the lowercase hex SHA-256 of its encoded bytes.
std::string manifest_name(ByteView encoded);
inline std::string manifest_name(std::string_view encoded) {
    return manifest_name(as_bytes(encoded));
}

} // namespace nixedge
