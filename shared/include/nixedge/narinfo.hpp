// .narinfo files: strict parse, canonical serialization (Nix's field order),
// and the fingerprint that Sig lines sign.
#pragma once

#include "nixedge/keys.hpp"
#include "nixedge/nix_hash.hpp"
#include "nixedge/result.hpp"
#include "nixedge/store_path.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge {

struct NarInfo {
    StorePath store_path;
    std::string url;
    std::string compression = "bzip2"; // Nix's default when the line is absent
    std::optional<NixHash> file_hash;
    std::optional<std::uint64_t> file_size;
    NixHash nar_hash;
    std::uint64_t nar_size = 0;
    std::vector<StorePath> references; // kept sorted and unique, as Nix's set
    std::optional<StorePath> deriver;
    std::string system;
    std::vector<std::string> signatures; // kept sorted and unique, as Nix's set
    std::string ca;

    bool operator==(const NarInfo&) const = default;
};

inline constexpr std::size_t narinfo_max_bytes = 1 << 20;

// Rejects what Nix would reject plus anything ambiguous: unknown or repeated
// fields, malformed values, a missing final newline. Errors name the line.
Result<NarInfo> parse_narinfo(std::string_view text);

// The text Nix itself writes for this narinfo (FileHash/FileSize only when set).
std::string serialize_narinfo(const NarInfo& info);

// "1;<store path>;<sha256:nix32 NarHash>;<NarSize>;<comma-joined reference paths>"
std::string narinfo_fingerprint(const NarInfo& info);

// Adds a signature by `key` (replacing an older one by the same key name).
void sign_narinfo(NarInfo& info, const SecretKey& key);

// The name of the trusted key that signed this narinfo, if any did.
std::optional<std::string> verify_narinfo(const NarInfo& info, const TrustedKeys& trusted);

} // namespace nixedge
