// Portable SHA-256 for wasm: libsodium's C implementation (no SIMD in wasm32).
#include "nixedge/sha256.hpp"

#include <sodium/crypto_hash_sha256.h>

#include <new>

namespace nixedge {

namespace {
crypto_hash_sha256_state* context(std::uint8_t* storage) {
    return std::launder(reinterpret_cast<crypto_hash_sha256_state*>(storage));
}
} // namespace

static_assert(sizeof(crypto_hash_sha256_state) <= 256, "sha256 state must fit Sha256::state_");

Sha256::Sha256() {
    reset();
}

void Sha256::reset() {
    crypto_hash_sha256_init(new (state_) crypto_hash_sha256_state);
}

void Sha256::update(ByteView data) {
    crypto_hash_sha256_update(context(state_), data.data(), data.size());
}

Sha256Digest Sha256::finish() {
    Sha256Digest out;
    crypto_hash_sha256_final(context(state_), out.data());
    reset();
    return out;
}

Sha256Digest Sha256::digest(ByteView data) {
    Sha256Digest out;
    crypto_hash_sha256(out.data(), data.data(), data.size());
    return out;
}

} // namespace nixedge
