// What a token may do with a cache, in Attic's terms, and the cache name
// patterns its claim uses.
#pragma once

#include <array>
#include <string_view>

namespace nixedge::lab {

// In the order Attic serializes them; each has a letter in the claim.
enum class Permission {
    pull,                      // "r": read narinfos and NARs
    push,                      // "w": upload paths
    delete_paths,              // "d": delete paths from the cache
    create_cache,              // "cc"
    configure_cache,           // "cr"
    configure_cache_retention, // "cq"
    destroy_cache,             // "cd"
};

inline constexpr std::array<Permission, 7> all_permissions{
    Permission::pull,
    Permission::push,
    Permission::delete_paths,
    Permission::create_cache,
    Permission::configure_cache,
    Permission::configure_cache_retention,
    Permission::destroy_cache,
};

std::string_view claim_letter(Permission permission);

struct Permissions {
    bool pull = false;
    bool push = false;
    bool delete_paths = false;
    bool create_cache = false;
    bool configure_cache = false;
    bool configure_cache_retention = false;
    bool destroy_cache = false;

    bool has(Permission permission) const;
    // Also how a public cache's implicit read is added: grant(Permission::pull).
    void grant(Permission permission);
    // Any permission at all lets the bearer learn that the cache exists (so it
    // may be told 403 or 404); without one it is told 401, whatever the cache.
    bool can_discover() const;

    bool operator==(const Permissions&) const = default;
};

// Attic's CacheNamePattern: 1 to 50 characters, the first a letter, digit or
// '*', the rest letters, digits, '-', '_', '+' or '*'.
bool is_valid_cache_pattern(std::string_view pattern);

// '*' matches any run of characters, the empty one included; everything else
// matches itself, case-sensitively (the `wildmatch` crate Attic uses).
bool pattern_matches(std::string_view pattern, std::string_view cache_name);

} // namespace nixedge::lab
