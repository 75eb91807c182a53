// Cache URL paths as the edge parses them (parse_cache_path): errors are
// fine, crashes are not. A path that parses names a valid cache and object,
// and is exactly the path its parts spell (bare for the default cache), so
// no two spellings reach the same bucket key.
#include "nixedge/bucket_layout.hpp"
#include "nixedge/cache_path.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/store_path.hpp"

#include <cstdlib>
#include <string>

namespace {

std::string spell(const nixedge::CachePath& p) {
    switch (p.object) {
    case nixedge::CacheObject::nix_cache_info:
        return "nix-cache-info";
    case nixedge::CacheObject::narinfo:
        return p.store_hash + ".narinfo";
    case nixedge::CacheObject::listing:
        return p.store_hash + ".ls";
    case nixedge::CacheObject::nar:
        return nixedge::nar_url(p.manifest);
    }
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view path(reinterpret_cast<const char*>(data), size);
    for (std::string_view default_cache : {"", "main"}) {
        auto parsed = nixedge::parse_cache_path(path, default_cache);
        if (!parsed)
            continue;
        if (!nixedge::validate_cache_name(parsed->cache))
            std::abort();
        const bool has_hash = parsed->object == nixedge::CacheObject::narinfo ||
                              parsed->object == nixedge::CacheObject::listing;
        if (has_hash && !nixedge::validate_store_hash(parsed->store_hash))
            std::abort();
        const std::string object = spell(*parsed);
        if (path != "/" + parsed->cache + "/" + object &&
            !(parsed->cache == default_cache && path == "/" + object))
            std::abort();
    }
    return 0;
}
