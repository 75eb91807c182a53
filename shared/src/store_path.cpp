#include "nixedge/store_path.hpp"

#include "nixedge/encoding.hpp"

namespace nixedge {

namespace {

Error bad(std::string_view what, std::string_view subject) {
    return make_error(ErrorCode::invalid_store_path,
                      std::string(what) + ": '" + std::string(subject) + "'");
}

bool is_name_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
           c == '-' || c == '.' || c == '_' || c == '?' || c == '=';
}

} // namespace

Result<void> validate_store_hash(std::string_view hash) {
    if (hash.size() != store_hash_length)
        return bad("store path hash must be 32 characters", hash);
    for (char c : hash)
        if (!encoding::is_nix32_char(c))
            return bad("store path hash has a character outside Nix's base32 alphabet", hash);
    return {};
}

// Nix's rule: [A-Za-z0-9+-._?=]{1,211}, and not ".", "..", nor starting with
// ".-" or "..-" (those would read as relative path components).
Result<void> validate_store_name(std::string_view name) {
    if (name.empty())
        return bad("store path name is empty", name);
    if (name.size() > store_name_max_length)
        return bad("store path name is longer than 211 characters", name);
    for (char c : name)
        if (!is_name_char(c))
            return bad("store path name has a character Nix does not allow", name);
    if (name == "." || name == ".." || name.starts_with(".-") || name.starts_with("..-"))
        return bad("store path name is a relative path component", name);
    return {};
}

Result<StorePath> parse_store_base_name(std::string_view base_name) {
    if (base_name.size() < store_hash_length + 2 || base_name[store_hash_length] != '-')
        return bad("not a store path base name '<hash>-<name>'", base_name);
    auto hash = base_name.substr(0, store_hash_length);
    auto name = base_name.substr(store_hash_length + 1);
    if (auto ok = validate_store_hash(hash); !ok)
        return ok.error();
    if (auto ok = validate_store_name(name); !ok)
        return ok.error();
    return StorePath{std::string(hash), std::string(name)};
}

Result<StorePath> parse_store_path(std::string_view full_path) {
    if (!full_path.starts_with(nix_store_dir) || full_path.size() <= nix_store_dir.size() ||
        full_path[nix_store_dir.size()] != '/')
        return bad("store path is not in /nix/store", full_path);
    auto base = full_path.substr(nix_store_dir.size() + 1);
    if (base.find('/') != std::string_view::npos)
        return bad("store path has a subdirectory", full_path);
    return parse_store_base_name(base);
}

} // namespace nixedge
