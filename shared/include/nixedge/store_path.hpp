// Nix store paths: /nix/store/<32 nix32 chars>-<name>.
#pragma once

#include "nixedge/result.hpp"

#include <compare>
#include <string>
#include <string_view>

namespace nixedge {

inline constexpr std::string_view nix_store_dir = "/nix/store";
inline constexpr std::size_t store_hash_length = 32;
inline constexpr std::size_t store_name_max_length = 211;

struct StorePath {
    std::string hash; // the 32-character hash part
    std::string name;

    // "<hash>-<name>", as in narinfo References and Deriver lines.
    std::string base_name() const { return hash + "-" + name; }
    // "/nix/store/<hash>-<name>"
    std::string full() const { return std::string(nix_store_dir) + "/" + base_name(); }

    // Nix orders store paths by their base name.
    auto operator<=>(const StorePath& other) const { return base_name() <=> other.base_name(); }
    bool operator==(const StorePath&) const = default;
};

Result<void> validate_store_hash(std::string_view hash);
Result<void> validate_store_name(std::string_view name);
Result<StorePath> parse_store_base_name(std::string_view base_name);
Result<StorePath> parse_store_path(std::string_view full_path);

} // namespace nixedge
