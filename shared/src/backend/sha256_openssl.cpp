// Native SHA-256 through OpenSSL's low-level API, which picks SHA-NI/AVX code
// paths at run time. The low-level API is deprecated in OpenSSL 3 but is the
// only allocation-free one, which matters when every chunk is hashed.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "nixedge/sha256.hpp"

#include <openssl/sha.h>

#include <new>

namespace nixedge {

namespace {
SHA256_CTX* context(std::uint8_t* storage) {
    return std::launder(reinterpret_cast<SHA256_CTX*>(storage));
}
} // namespace

static_assert(sizeof(SHA256_CTX) <= 256, "SHA256_CTX must fit Sha256::state_");

Sha256::Sha256() {
    reset();
}

void Sha256::reset() {
    SHA256_Init(new (state_) SHA256_CTX);
}

void Sha256::update(ByteView data) {
    SHA256_Update(context(state_), data.data(), data.size());
}

Sha256Digest Sha256::finish() {
    Sha256Digest out;
    SHA256_Final(out.data(), context(state_));
    reset();
    return out;
}

Sha256Digest Sha256::digest(ByteView data) {
    Sha256Digest out;
    SHA256(data.data(), data.size(), out.data());
    return out;
}

} // namespace nixedge
