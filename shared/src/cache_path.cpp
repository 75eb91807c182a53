#include "nixedge/cache_path.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/store_path.hpp"

namespace nixedge {

namespace {

Error no_such_object(std::string_view path) {
    return make_error(ErrorCode::not_found, "'" + std::string(path) + "' names no cache object");
}

bool strip_suffix(std::string_view& text, std::string_view suffix) {
    if (!text.ends_with(suffix))
        return false;
    text.remove_suffix(suffix.size());
    return true;
}

// The object a path inside a cache names: "nix-cache-info", "<hash>.narinfo",
// "<hash>.ls" or "nar/<hex>.nar.zst".
Result<CachePath> parse_object(std::string_view rest, std::string_view whole_path) {
    CachePath parsed;
    if (rest == "nix-cache-info")
        return parsed;
    if (rest.starts_with("nar/")) {
        auto manifest = parse_nar_url(rest);
        if (!manifest)
            return no_such_object(whole_path);
        parsed.object = CacheObject::nar;
        parsed.manifest = *manifest;
        return parsed;
    }
    std::string_view hash = rest;
    if (strip_suffix(hash, ".narinfo"))
        parsed.object = CacheObject::narinfo;
    else if (strip_suffix(hash, ".ls"))
        parsed.object = CacheObject::listing;
    else
        return no_such_object(whole_path);
    if (!validate_store_hash(hash))
        return no_such_object(whole_path);
    parsed.store_hash = std::string(hash);
    return parsed;
}

bool names_object_in_default_cache(std::string_view rest) {
    return rest == "nix-cache-info" || rest.starts_with("nar/") || rest.ends_with(".narinfo") ||
           rest.ends_with(".ls");
}

} // namespace

Result<CachePath> parse_cache_path(std::string_view path, std::string_view default_cache) {
    if (!path.starts_with('/'))
        return no_such_object(path);
    std::string_view rest = path.substr(1);
    std::string_view cache = default_cache;
    // A bare object name ("/x.narinfo", "/nar/…") belongs to the default cache;
    // anything else starts with a cache name. Reserved names ("nar",
    // "nix-cache-info") are never cache names, so the two cannot be confused.
    auto slash = rest.find('/');
    const bool bare = names_object_in_default_cache(rest) &&
                      (slash == std::string_view::npos || rest.substr(0, slash) == "nar");
    if (!bare) {
        if (slash == std::string_view::npos)
            return no_such_object(path);
        cache = rest.substr(0, slash);
        rest.remove_prefix(slash + 1);
        if (auto valid = validate_cache_name(cache); !valid)
            return valid.error();
    } else if (default_cache.empty()) {
        return no_such_object(path);
    }
    auto parsed = parse_object(rest, path);
    if (!parsed)
        return parsed.error();
    parsed->cache = std::string(cache);
    return parsed;
}

} // namespace nixedge
