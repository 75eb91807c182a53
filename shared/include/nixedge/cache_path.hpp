// The URL paths a binary cache answers, as Nix asks for them: the one parser
// of "/<cache>/<hash>.narinfo" and friends, so every reader of the bucket
// layout (the edge Worker first) agrees on what a path names and refuses the
// same malformed ones. Pure: no I/O; the caller passes the URL's path without
// its query.
#pragma once

#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"

#include <string>
#include <string_view>

namespace nixedge {

enum class CacheObject { nix_cache_info, narinfo, listing, nar };

struct CachePath {
    CacheObject object = CacheObject::nix_cache_info;
    std::string cache;
    std::string store_hash;  // narinfo, listing: 32 nix32 characters
    Sha256Digest manifest{}; // nar: the manifest the NAR URL names
};

// Accepts exactly
//   /<cache>/nix-cache-info   /<cache>/<hash>.narinfo   /<cache>/<hash>.ls
//   /<cache>/nar/<64 lowercase hex>.nar.zst
// and the same without "/<cache>" for default_cache (empty: bare paths name
// nothing). Nothing else: no empty segments, no trailing slash, no dot
// segments or percent-escapes (no valid name contains '.' segments or '%').
// not_found for anything that names no cache object; invalid_cache_name when
// the cache segment is not a valid name.
Result<CachePath> parse_cache_path(std::string_view path, std::string_view default_cache);

} // namespace nixedge
