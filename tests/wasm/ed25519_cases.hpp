// Ed25519 (public key, message, signature) triples built to probe where
// verifiers disagree: non-canonical and oversized S, small-order and
// non-canonical R and A, mixed-order points, junk. Many of them satisfy the
// cofactorless verification equation [S]B = R + [k]A, so only the explicit
// checks (canonical S, small order, canonical A) can reject them: exactly what
// must behave the same in native libsodium (1.0.18) and the wasm build (1.0.16).
// Built natively with libsodium's group arithmetic; never part of the wasm module.
#pragma once

#include "nixedge/bytes.hpp"

#include <string>
#include <vector>

namespace nixedge::test {

struct Ed25519Case {
    std::string label; // short, unique: becomes part of the vector name
    std::string note;  // what the case is and what a strict verifier should do
    Bytes public_key;  // 32 bytes
    Bytes message;
    Bytes signature; // 64 bytes: R || S
};

std::vector<Ed25519Case> ed25519_cases();

} // namespace nixedge::test
