// Nix signing keys ("name:base64") and Ed25519 detached signatures.
// The core has no randomness source: new keys are made from a caller's seed.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge {

struct PublicKey {
    std::string name;
    std::array<std::uint8_t, 32> bytes{};
    std::string to_string() const; // "name:base64(32 bytes)"
    bool operator==(const PublicKey&) const = default;
};

struct SecretKey {
    std::string name;
    std::array<std::uint8_t, 64> bytes{}; // seed (32) followed by the public key (32)
    std::string to_string() const;        // "name:base64(64 bytes)"
    PublicKey public_key() const;
};

struct Signature {
    std::string key_name;
    std::array<std::uint8_t, 64> bytes{};
    std::string to_string() const; // "name:base64(64 bytes)", a narinfo Sig value
};

Result<void> validate_key_name(std::string_view name);
Result<PublicKey> parse_public_key(std::string_view text);
// Rejects a key whose public half does not belong to its seed.
Result<SecretKey> parse_secret_key(std::string_view text);
Result<SecretKey> secret_key_from_seed(std::string_view name, ByteView seed32);
Result<Signature> parse_signature(std::string_view text);

Signature sign(const SecretKey& key, std::string_view message);
// Pure Ed25519 check; the key name is the caller's business.
bool verify(const PublicKey& key, std::string_view message, const Signature& signature);

// The keys a reader trusts. Several keys may share a name only if they are the
// same key; rotation uses a new name (e.g. cache-1 -> cache-2).
class TrustedKeys {
  public:
    Result<void> add(PublicKey key);
    const PublicKey* find(std::string_view name) const;
    bool empty() const { return keys_.empty(); }
    std::size_t size() const { return keys_.size(); }

    // Returns the name of the first trusted key that produced one of `signatures`
    // over `message`; unparsable signatures and unknown names are skipped, as Nix does.
    std::optional<std::string> verify_any(std::string_view message,
                                          const std::vector<std::string>& signatures) const;

  private:
    std::vector<PublicKey> keys_;
};

} // namespace nixedge
