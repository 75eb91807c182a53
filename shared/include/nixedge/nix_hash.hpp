// SHA-256 hashes as they appear in narinfos: "sha256:<nix32>" (canonical), and
// the other spellings Nix accepts on input (hex, base64, SRI "sha256-<base64>").
#pragma once

#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"

#include <string>
#include <string_view>

namespace nixedge {

struct NixHash {
    Sha256Digest digest{};

    // "sha256:<52 nix32 chars>", the form Nix writes into narinfos and fingerprints.
    std::string to_string() const;
    bool operator==(const NixHash&) const = default;
};

Result<NixHash> parse_nix_hash(std::string_view text);

} // namespace nixedge
