#include "nixedge/nix_hash.hpp"

#include "nixedge/encoding.hpp"

#include <algorithm>

namespace nixedge {

namespace {

Result<NixHash> from_bytes(Result<Bytes> bytes, std::string_view text) {
    if (!bytes)
        return make_error(ErrorCode::invalid_encoding,
                          "bad SHA-256 hash '" + std::string(text) + "': " + bytes.error().detail);
    if (bytes->size() != 32)
        return make_error(ErrorCode::invalid_encoding,
                          "SHA-256 hash '" + std::string(text) + "' is not 32 bytes");
    NixHash hash;
    std::copy(bytes->begin(), bytes->end(), hash.digest.begin());
    return hash;
}

} // namespace

std::string NixHash::to_string() const {
    return "sha256:" + encoding::to_nix32(digest);
}

Result<NixHash> parse_nix_hash(std::string_view text) {
    if (text.starts_with("sha256-"))
        return from_bytes(encoding::from_base64(text.substr(7)), text);
    if (!text.starts_with("sha256:"))
        return make_error(ErrorCode::invalid_encoding,
                          "hash '" + std::string(text) + "' is not a sha256 hash");
    auto body = text.substr(7);
    if (body.size() == encoding::nix32_length(32))
        return from_bytes(encoding::from_nix32(body, 32), text);
    if (body.size() == 64)
        return from_bytes(encoding::from_hex(body), text);
    return from_bytes(encoding::from_base64(body), text);
}

} // namespace nixedge
