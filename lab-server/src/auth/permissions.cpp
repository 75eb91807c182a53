#include "auth/permissions.hpp"

#include <algorithm>

namespace nixedge::lab {
namespace {

bool is_ascii_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// One place that pairs each permission with its member.
template <class Self> auto& member(Self& permissions, Permission permission) {
    switch (permission) {
    case Permission::pull:
        return permissions.pull;
    case Permission::push:
        return permissions.push;
    case Permission::delete_paths:
        return permissions.delete_paths;
    case Permission::create_cache:
        return permissions.create_cache;
    case Permission::configure_cache:
        return permissions.configure_cache;
    case Permission::configure_cache_retention:
        return permissions.configure_cache_retention;
    case Permission::destroy_cache:
        break;
    }
    return permissions.destroy_cache;
}

} // namespace

std::string_view claim_letter(Permission permission) {
    switch (permission) {
    case Permission::pull:
        return "r";
    case Permission::push:
        return "w";
    case Permission::delete_paths:
        return "d";
    case Permission::create_cache:
        return "cc";
    case Permission::configure_cache:
        return "cr";
    case Permission::configure_cache_retention:
        return "cq";
    case Permission::destroy_cache:
        break;
    }
    return "cd";
}

bool Permissions::has(Permission permission) const {
    return member(*this, permission);
}

void Permissions::grant(Permission permission) {
    member(*this, permission) = true;
}

bool Permissions::can_discover() const {
    return std::ranges::any_of(all_permissions, [this](Permission p) { return has(p); });
}

bool is_valid_cache_pattern(std::string_view pattern) {
    if (pattern.empty() || pattern.size() > 50)
        return false;
    if (!is_ascii_alnum(pattern[0]) && pattern[0] != '*')
        return false;
    return std::ranges::all_of(pattern, [](char c) {
        return is_ascii_alnum(c) || c == '-' || c == '_' || c == '+' || c == '*';
    });
}

bool pattern_matches(std::string_view pattern, std::string_view cache_name) {
    // Greedy matching that, on a mismatch, lets the last '*' swallow one more
    // character: linear for patterns with one '*', never worse than quadratic.
    std::size_t p = 0;
    std::size_t n = 0;
    std::size_t star = std::string_view::npos;
    std::size_t star_match = 0;
    while (n < cache_name.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            star_match = n;
        } else if (p < pattern.size() && pattern[p] == cache_name[n]) {
            ++p;
            ++n;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            n = ++star_match;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

} // namespace nixedge::lab
