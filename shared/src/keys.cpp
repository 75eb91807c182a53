#include "nixedge/keys.hpp"

#include "nixedge/encoding.hpp"

#include <sodium/crypto_sign_ed25519.h>

#include <algorithm>

namespace nixedge {

namespace {

Error bad_key(std::string detail) {
    return make_error(ErrorCode::invalid_key, std::move(detail));
}

struct NamedBlob {
    std::string name;
    Bytes blob;
};

// Splits "name:base64" and checks the decoded length.
Result<NamedBlob> parse_named_blob(std::string_view text, std::size_t expected_size,
                                   std::string_view what) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return bad_key(std::string(what) + " is not of the form name:base64");
    auto name = text.substr(0, colon);
    if (auto ok = validate_key_name(name); !ok)
        return ok.error();
    auto blob = encoding::from_base64(text.substr(colon + 1));
    if (!blob)
        return bad_key(std::string(what) + " '" + std::string(name) + "': " + blob.error().detail);
    if (blob->size() != expected_size)
        return bad_key(std::string(what) + " '" + std::string(name) + "' has " +
                       std::to_string(blob->size()) + " bytes, expected " +
                       std::to_string(expected_size));
    return NamedBlob{std::string(name), std::move(blob).value()};
}

template <std::size_t N> std::array<std::uint8_t, N> to_array(const Bytes& bytes) {
    std::array<std::uint8_t, N> out{};
    std::copy_n(bytes.begin(), N, out.begin());
    return out;
}

} // namespace

std::string PublicKey::to_string() const {
    return name + ":" + encoding::to_base64(bytes);
}
std::string SecretKey::to_string() const {
    return name + ":" + encoding::to_base64(bytes);
}
std::string Signature::to_string() const {
    return key_name + ":" + encoding::to_base64(bytes);
}

PublicKey SecretKey::public_key() const {
    PublicKey key{name, {}};
    std::copy_n(bytes.begin() + 32, 32, key.bytes.begin());
    return key;
}

Result<void> validate_key_name(std::string_view name) {
    if (name.empty())
        return bad_key("key name is empty");
    for (char c : name)
        if (static_cast<unsigned char>(c) <= ' ' || c == ':' || c == 0x7f)
            return bad_key("key name '" + std::string(name) +
                           "' contains a colon, a space or a control character");
    return {};
}

Result<PublicKey> parse_public_key(std::string_view text) {
    auto parsed = parse_named_blob(text, 32, "public key");
    if (!parsed)
        return parsed.error();
    return PublicKey{parsed->name, to_array<32>(parsed->blob)};
}

Result<SecretKey> secret_key_from_seed(std::string_view name, ByteView seed32) {
    if (auto ok = validate_key_name(name); !ok)
        return ok.error();
    if (seed32.size() != crypto_sign_ed25519_SEEDBYTES)
        return bad_key("an Ed25519 seed is 32 bytes");
    SecretKey key{std::string(name), {}};
    std::array<std::uint8_t, 32> public_bytes{};
    crypto_sign_ed25519_seed_keypair(public_bytes.data(), key.bytes.data(), seed32.data());
    return key;
}

Result<SecretKey> parse_secret_key(std::string_view text) {
    auto parsed = parse_named_blob(text, 64, "secret key");
    if (!parsed)
        return parsed.error();
    auto rebuilt = secret_key_from_seed(parsed->name, ByteView(parsed->blob).first(32));
    if (!rebuilt)
        return rebuilt.error();
    if (!std::equal(rebuilt->bytes.begin(), rebuilt->bytes.end(), parsed->blob.begin()))
        return bad_key("secret key '" + parsed->name + "' does not match its public half");
    return rebuilt;
}

Result<Signature> parse_signature(std::string_view text) {
    auto parsed = parse_named_blob(text, 64, "signature");
    if (!parsed)
        return make_error(ErrorCode::bad_signature, parsed.error().detail);
    return Signature{parsed->name, to_array<64>(parsed->blob)};
}

Signature sign(const SecretKey& key, std::string_view message) {
    Signature signature{key.name, {}};
    auto bytes = as_bytes(message);
    crypto_sign_ed25519_detached(signature.bytes.data(), nullptr, bytes.data(), bytes.size(),
                                 key.bytes.data());
    return signature;
}

bool verify(const PublicKey& key, std::string_view message, const Signature& signature) {
    auto bytes = as_bytes(message);
    return crypto_sign_ed25519_verify_detached(signature.bytes.data(), bytes.data(), bytes.size(),
                                               key.bytes.data()) == 0;
}

Result<void> TrustedKeys::add(PublicKey key) {
    if (auto ok = validate_key_name(key.name); !ok)
        return ok.error();
    if (const auto* existing = find(key.name)) {
        if (*existing == key)
            return {};
        return bad_key("two different trusted keys are named '" + key.name + "'");
    }
    keys_.push_back(std::move(key));
    return {};
}

const PublicKey* TrustedKeys::find(std::string_view name) const {
    auto it =
        std::find_if(keys_.begin(), keys_.end(), [&](const auto& k) { return k.name == name; });
    return it == keys_.end() ? nullptr : &*it;
}

std::optional<std::string>
TrustedKeys::verify_any(std::string_view message,
                        const std::vector<std::string>& signatures) const {
    for (const auto& text : signatures) {
        auto signature = parse_signature(text);
        if (!signature)
            continue;
        const auto* key = find(signature->key_name);
        if (key && verify(*key, message, *signature))
            return key->name;
    }
    return std::nullopt;
}

} // namespace nixedge
