// Streaming SHA-256. The implementation is chosen by the build (OpenSSL with
// SHA-NI natively, libsodium's portable code in wasm); callers never know.
#pragma once

#include "nixedge/bytes.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace nixedge {

using Sha256Digest = std::array<std::uint8_t, 32>;

class Sha256 {
  public:
    Sha256();
    void update(ByteView data);
    // Returns the digest and resets the state for a new message.
    Sha256Digest finish();
    void reset();

    static Sha256Digest digest(ByteView data);

  private:
    // Opaque storage for the backend's context, so this header stays free of
    // backend types. Each backend static_asserts that its context fits.
    alignas(16) std::uint8_t state_[256];
};

} // namespace nixedge
