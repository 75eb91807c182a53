// The bucket layout: the ONE place that names object keys. The lab writes with
// these names and the edge reads with them; docs/bucket-layout.md specifies them.
#pragma once

#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace nixedge {

// Bumped on any incompatible change to the names or formats below.
inline constexpr int bucket_layout_version = 1;
inline constexpr std::size_t cache_name_max_length = 50;

// [A-Za-z0-9][A-Za-z0-9_-]{0,49}, and not a reserved name (a route or a
// top-level prefix of the bucket).
Result<void> validate_cache_name(std::string_view name);
bool is_reserved_cache_name(std::string_view name);

// The narinfo URL of a NAR, relative to the cache: "nar/<manifest hex>.nar.zst".
std::string nar_url(const Sha256Digest& manifest_hash);
Result<Sha256Digest> parse_nar_url(std::string_view url);

namespace bucket_key {

std::string layout_marker();                        // "nixedge-layout": the version, as text
std::string chunk(const Sha256Digest& raw_hash);    // "chunks/<hex>"
std::string manifest(const Sha256Digest& hash);     // "manifests/<hex>"
std::string nix_cache_info(std::string_view cache); // "<cache>/nix-cache-info"
std::string narinfo(std::string_view cache,
                    std::string_view store_hash); // "<cache>/<hash>.narinfo"
std::string listing(std::string_view cache, std::string_view store_hash); // "<cache>/<hash>.ls"
std::string sync_plan();                                                  // "sync/plan"
std::string sync_status();                                                // "sync/status"

} // namespace bucket_key

// What a bucket key names, for code that is handed keys back (the outbox
// drainer, fsck): the inverse of the bucket_key functions.
enum class ObjectKind {
    layout_marker,
    chunk,
    manifest,
    nix_cache_info,
    narinfo,
    listing,
    sync_plan,
    sync_status,
};

struct ObjectKeyInfo {
    ObjectKind kind = ObjectKind::layout_marker;
    std::string cache;      // nix_cache_info, narinfo, listing
    std::string store_hash; // narinfo, listing
    Sha256Digest hash{};    // chunk, manifest
};

// invalid_argument for a key that no bucket_key function makes.
Result<ObjectKeyInfo> parse_object_key(std::string_view key);

// The nix-cache-info object of a cache (and the lab's answer to
// GET /<cache>/nix-cache-info): StoreDir, WantMassQuery, Priority.
std::string nix_cache_info_text(std::int64_t priority);

// The text of the layout marker object: the layout version and a newline.
std::string layout_marker_text();

} // namespace nixedge
