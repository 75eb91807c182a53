#include "nixedge/bucket_layout.hpp"

#include "nixedge/encoding.hpp"

#include <algorithm>
#include <array>

namespace nixedge {

namespace {

// Routes of the lab server and the edge, and top-level prefixes of the bucket.
constexpr std::array<std::string_view, 17> reserved_names = {
    "nar",    "_api",        "api",        "metrics",        "healthz",        "readyz",
    "sync",   "chunks",      "manifests",  "nix-cache-info", "nixedge-layout", "admin",
    "static", "favicon.ico", "robots.txt", "well-known",     "login",
};

constexpr std::string_view nar_url_prefix = "nar/";
constexpr std::string_view nar_url_suffix = ".nar.zst";

bool is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string hex(const Sha256Digest& digest) {
    return encoding::to_hex(digest);
}

} // namespace

bool is_reserved_cache_name(std::string_view name) {
    return std::find(reserved_names.begin(), reserved_names.end(), name) != reserved_names.end();
}

Result<void> validate_cache_name(std::string_view name) {
    auto bad = [&](std::string_view why) {
        return make_error(ErrorCode::invalid_cache_name,
                          "cache name '" + std::string(name) + "' " + std::string(why));
    };
    if (name.empty() || name.size() > cache_name_max_length)
        return bad("must be 1 to 50 characters");
    if (!is_alnum(name[0]))
        return bad("must start with a letter or digit");
    if (!std::all_of(name.begin(), name.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_'; }))
        return bad("may contain only letters, digits, '-' and '_'");
    if (is_reserved_cache_name(name))
        return bad("is reserved");
    return {};
}

std::string nar_url(const Sha256Digest& manifest_hash) {
    return std::string(nar_url_prefix) + hex(manifest_hash) + std::string(nar_url_suffix);
}

Result<Sha256Digest> parse_nar_url(std::string_view url) {
    auto bad = make_error(ErrorCode::invalid_argument,
                          "'" + std::string(url) + "' is not nar/<64 hex>.nar.zst");
    if (!url.starts_with(nar_url_prefix) || !url.ends_with(nar_url_suffix) ||
        url.size() != nar_url_prefix.size() + 64 + nar_url_suffix.size())
        return bad;
    auto text = url.substr(nar_url_prefix.size(), 64);
    // Lowercase only: one name per object.
    if (text.find_first_not_of("0123456789abcdef") != std::string_view::npos)
        return bad;
    auto bytes = encoding::from_hex(text);
    Sha256Digest digest{};
    std::copy(bytes->begin(), bytes->end(), digest.begin());
    return digest;
}

namespace bucket_key {

std::string layout_marker() {
    return "nixedge-layout";
}
std::string chunk(const Sha256Digest& raw_hash) {
    return "chunks/" + hex(raw_hash);
}
std::string manifest(const Sha256Digest& hash) {
    return "manifests/" + hex(hash);
}
std::string nix_cache_info(std::string_view cache) {
    return std::string(cache) + "/nix-cache-info";
}
std::string narinfo(std::string_view cache, std::string_view store_hash) {
    return std::string(cache) + "/" + std::string(store_hash) + ".narinfo";
}
std::string listing(std::string_view cache, std::string_view store_hash) {
    return std::string(cache) + "/" + std::string(store_hash) + ".ls";
}
std::string sync_plan() {
    return "sync/plan";
}
std::string sync_status() {
    return "sync/status";
}

} // namespace bucket_key

} // namespace nixedge
