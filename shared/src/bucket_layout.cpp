#include "nixedge/bucket_layout.hpp"

#include "nixedge/encoding.hpp"
#include "nixedge/store_path.hpp"

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

namespace {

Result<Sha256Digest> digest_from_key_hex(std::string_view text) {
    if (text.size() != 64 || text.find_first_not_of("0123456789abcdef") != std::string_view::npos)
        return make_error(ErrorCode::invalid_argument, "not 64 lowercase hex digits");
    auto bytes = encoding::from_hex(text);
    Sha256Digest digest{};
    std::copy(bytes->begin(), bytes->end(), digest.begin());
    return digest;
}

Result<ObjectKeyInfo> parse_cache_object_key(std::string_view cache, std::string_view name) {
    if (auto valid = validate_cache_name(cache); !valid)
        return valid.error();
    ObjectKeyInfo info;
    info.cache = std::string(cache);
    if (name == "nix-cache-info") {
        info.kind = ObjectKind::nix_cache_info;
        return info;
    }
    auto dot = name.find('.');
    auto suffix = dot == std::string_view::npos ? std::string_view{} : name.substr(dot);
    if (suffix != ".narinfo" && suffix != ".ls")
        return make_error(ErrorCode::invalid_argument, "unknown object name");
    if (auto valid = validate_store_hash(name.substr(0, dot)); !valid)
        return valid.error();
    info.kind = suffix == ".narinfo" ? ObjectKind::narinfo : ObjectKind::listing;
    info.store_hash = std::string(name.substr(0, dot));
    return info;
}

} // namespace

Result<ObjectKeyInfo> parse_object_key(std::string_view key) {
    auto fail = [&](const Error& why) {
        return make_error(ErrorCode::invalid_argument,
                          "'" + std::string(key) + "' is not a bucket key: " + why.detail);
    };
    if (key == bucket_key::layout_marker())
        return ObjectKeyInfo{ObjectKind::layout_marker, {}, {}, {}};
    if (key == bucket_key::sync_plan())
        return ObjectKeyInfo{ObjectKind::sync_plan, {}, {}, {}};
    if (key == bucket_key::sync_status())
        return ObjectKeyInfo{ObjectKind::sync_status, {}, {}, {}};
    auto slash = key.find('/');
    if (slash == std::string_view::npos || key.find('/', slash + 1) != std::string_view::npos)
        return fail(Error{ErrorCode::invalid_argument, "not two segments"});
    auto first = key.substr(0, slash);
    auto rest = key.substr(slash + 1);
    if (first == "chunks" || first == "manifests") {
        auto digest = digest_from_key_hex(rest);
        if (!digest)
            return fail(digest.error());
        ObjectKeyInfo info;
        info.kind = first == "chunks" ? ObjectKind::chunk : ObjectKind::manifest;
        info.hash = *digest;
        return info;
    }
    auto info = parse_cache_object_key(first, rest);
    if (!info)
        return fail(info.error());
    return info;
}

std::string nix_cache_info_text(std::int64_t priority) {
    return "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: " + std::to_string(priority) + "\n";
}

std::string layout_marker_text() {
    return std::to_string(bucket_layout_version) + "\n";
}

} // namespace nixedge
