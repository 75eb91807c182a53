#include "ed25519_cases.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace nixedge::test {

namespace {

using Point = std::array<std::uint8_t, 32>;  // an encoded point
using Scalar = std::array<std::uint8_t, 32>; // little-endian, reduced mod L unless noted

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "ed25519_cases: %s\n", what);
    std::exit(1);
}

Point point_from_hex(std::string_view hex) {
    Point p{};
    if (sodium_hex2bin(p.data(), p.size(), hex.data(), hex.size(), nullptr, nullptr, nullptr) != 0)
        die("bad hex");
    return p;
}

// The points of small order, canonical encodings with the sign bit clear.
const Point identity =
    point_from_hex("0100000000000000000000000000000000000000000000000000000000000000");
const Point order2 =
    point_from_hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
const Point order4 =
    point_from_hex("0000000000000000000000000000000000000000000000000000000000000000");
const Point order8a =
    point_from_hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05");
const Point order8b =
    point_from_hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const Scalar group_order = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                            0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

Point with_sign(Point p) {
    p[31] |= 0x80;
    return p;
}

// y = p + j (2^255 - 19 + j), j <= 18: the non-canonical encodings.
Point non_canonical(unsigned j, bool sign) {
    Point p;
    p.fill(0xff);
    p[0] = static_cast<std::uint8_t>(0xed + j);
    p[31] = sign ? 0xff : 0x7f;
    return p;
}

std::optional<Point> add(const Point& a, const Point& b) {
    Point out;
    if (crypto_core_ed25519_add(out.data(), a.data(), b.data()) != 0)
        return std::nullopt;
    return out;
}

Point must_add(const Point& a, const Point& b) {
    auto sum = add(a, b);
    if (!sum)
        die("point addition failed");
    return *sum;
}

// libsodium decodes it (on the curve), whatever its order.
bool decodes(const Point& p) {
    return add(p, identity).has_value();
}

Scalar reduce_wide(const std::uint8_t* wide64) {
    Scalar out;
    crypto_core_ed25519_scalar_reduce(out.data(), wide64);
    return out;
}

Scalar scalar_add(const Scalar& x, const Scalar& y) {
    Scalar out;
    crypto_core_ed25519_scalar_add(out.data(), x.data(), y.data());
    return out;
}

Scalar scalar_mul(const Scalar& x, const Scalar& y) {
    Scalar out;
    crypto_core_ed25519_scalar_mul(out.data(), x.data(), y.data());
    return out;
}

Point base_times(const Scalar& s) {
    Point out;
    if (crypto_scalarmult_ed25519_base_noclamp(out.data(), s.data()) != 0)
        die("base multiplication failed");
    return out;
}

// A deterministic nonce, different for each use.
Scalar nonce(std::string_view tag) {
    std::uint8_t wide[64];
    crypto_hash_sha512(wide, reinterpret_cast<const std::uint8_t*>(tag.data()), tag.size());
    return reduce_wide(wide);
}

// k = H(R || A || M) mod L, as the verifier computes it.
Scalar challenge(const Point& r, const Point& a, ByteView message) {
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    crypto_hash_sha512_update(&state, r.data(), r.size());
    crypto_hash_sha512_update(&state, a.data(), a.size());
    crypto_hash_sha512_update(&state, message.data(), message.size());
    std::uint8_t wide[64];
    crypto_hash_sha512_final(&state, wide);
    return reduce_wide(wide);
}

// A message whose challenge k has k mod 8 == residue, so that [k]T for a point
// T of order dividing 8 is known ([k]T = [residue]T).
Bytes message_with_residue(const Point& r, const Point& a, std::string_view tag, unsigned residue) {
    for (unsigned n = 0;; ++n) {
        auto message = to_bytes(std::string(tag) + " #" + std::to_string(n));
        if ((challenge(r, a, message)[0] & 7) == residue)
            return message;
    }
}

Bytes signature_bytes(const Point& r, const Scalar& s) {
    Bytes out(r.begin(), r.end());
    out.insert(out.end(), s.begin(), s.end());
    return out;
}

Bytes to_vec(const Point& p) {
    return Bytes(p.begin(), p.end());
}

// s + j * L over 256 bits; nullopt if it overflows.
std::optional<Scalar> plus_multiple_of_order(const Scalar& s, unsigned j) {
    Scalar out;
    unsigned carry = 0;
    for (std::size_t i = 0; i < 32; ++i) {
        unsigned v = s[i] + j * group_order[i] + carry;
        out[i] = static_cast<std::uint8_t>(v);
        carry = v >> 8;
    }
    if (carry != 0)
        return std::nullopt;
    return out;
}

struct Key {
    Point public_key;
    Scalar secret_scalar; // reduced mod L
    std::array<std::uint8_t, 64> secret_key;
};

Key key_from_seed(std::uint8_t fill) {
    std::array<std::uint8_t, 32> seed;
    seed.fill(fill);
    Key key;
    crypto_sign_ed25519_seed_keypair(key.public_key.data(), key.secret_key.data(), seed.data());
    std::uint8_t az[64] = {};
    crypto_hash_sha512(az, seed.data(), seed.size());
    az[0] &= 248;
    az[31] &= 127;
    az[31] |= 64;
    std::fill(az + 32, az + 64, 0);
    key.secret_scalar = reduce_wide(az);
    if (base_times(key.secret_scalar) != key.public_key)
        die("secret scalar does not match the public key");
    return key;
}

Bytes sign(const Key& key, ByteView message) {
    Bytes sig(64);
    crypto_sign_ed25519_detached(sig.data(), nullptr, message.data(), message.size(),
                                 key.secret_key.data());
    return sig;
}

struct Named {
    std::string label;
    Point point;
};

// The small-order points, each also with the sign bit set (for x = 0 that is
// "negative zero"), and the two non-canonical encodings of small-order points.
std::vector<Named> small_order_encodings() {
    std::vector<Named> out;
    for (auto& [label, p] :
         std::vector<Named>{{"identity", identity},
                            {"order2", order2},
                            {"order4", order4},
                            {"order8a", order8a},
                            {"order8b", order8b},
                            {"p(order4-noncanonical)", non_canonical(0, false)},
                            {"p+1(identity-noncanonical)", non_canonical(1, false)}}) {
        out.push_back({label, p});
        out.push_back({label + "-signbit", with_sign(p)});
    }
    return out;
}

} // namespace

std::vector<Ed25519Case> ed25519_cases() {
    if (sodium_init() < 0)
        die("sodium_init failed");
    // The small-order constants really are what their names say.
    Point t = identity;
    for (int i = 0; i < 8; ++i)
        t = must_add(t, order8a);
    if (t != identity || must_add(order2, order2) != identity ||
        must_add(must_add(order4, order4), must_add(order4, order4)) != identity)
        die("small-order constants are wrong");

    std::vector<Ed25519Case> cases;
    auto push = [&](std::string label, std::string note, const Point& pk, Bytes message,
                    Bytes sig) {
        cases.push_back(
            {std::move(label), std::move(note), to_vec(pk), std::move(message), std::move(sig)});
    };

    const Key key = key_from_seed(0x42);
    const Key other = key_from_seed(0x01);
    const Bytes fingerprint =
        to_bytes("1;/nix/store/z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep;"
                 "sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv;120;");
    const Bytes good = sign(key, fingerprint);

    // --- plain valid and tampered -------------------------------------------------
    push("valid/fingerprint", "a normal signature: accept", key.public_key, fingerprint, good);
    push("valid/empty-message", "a normal signature of the empty message: accept", key.public_key,
         {}, sign(key, {}));
    Bytes binary(1000);
    for (std::size_t i = 0; i < binary.size(); ++i)
        binary[i] = static_cast<std::uint8_t>(i * 131 + 7);
    push("valid/binary-1000", "a normal signature of binary data: accept", key.public_key, binary,
         sign(key, binary));
    push("valid/other-key", "a normal signature by another key: accept", other.public_key,
         fingerprint, sign(other, fingerprint));
    {
        auto m = fingerprint;
        m.back() ^= 1;
        push("tampered/message", "message changed: reject", key.public_key, m, good);
        auto sig = good;
        sig[0] ^= 1;
        push("tampered/R", "R changed: reject", key.public_key, fingerprint, sig);
        sig = good;
        sig[32] ^= 1;
        push("tampered/S", "S changed: reject", key.public_key, fingerprint, sig);
        auto pk = key.public_key;
        pk[0] ^= 1;
        push("tampered/public-key", "public key changed: reject", pk, fingerprint, good);
        push("wrong-key", "valid signature, other key: reject", other.public_key, fingerprint,
             good);
    }

    // --- S >= L and S with high bits ----------------------------------------------
    {
        Point r;
        Scalar s;
        std::copy_n(good.begin(), 32, r.begin());
        std::copy_n(good.begin() + 32, 32, s.begin());
        for (unsigned j : {1u, 2u, 8u, 15u}) {
            if (auto big = plus_multiple_of_order(s, j))
                push("S-noncanonical/S+" + std::to_string(j) + "L",
                     "S + " + std::to_string(j) +
                         "L: the equation still holds, only the S < L check rejects: reject",
                     key.public_key, fingerprint, signature_bytes(r, *big));
        }
        for (std::uint8_t bits : {0x20, 0x40, 0x80, 0xe0, 0xf0}) {
            auto sig = good;
            sig[63] |= bits;
            char label[48];
            std::snprintf(label, sizeof label, "S-highbits/%02x", bits);
            push(label, "S with high bits set (S >= 2^253 > L): reject", key.public_key,
                 fingerprint, sig);
        }
        push("S-edge/S=L", "S = L (non-canonical zero): reject", key.public_key, fingerprint,
             signature_bytes(r, group_order));
        Scalar l_minus_1 = group_order;
        l_minus_1[0] -= 1;
        push("S-edge/S=L-1", "S = L - 1, canonical, equation fails: reject", key.public_key,
             fingerprint, signature_bytes(r, l_minus_1));
        push("S-edge/S=0", "S = 0, equation fails: reject", key.public_key, fingerprint,
             signature_bytes(r, Scalar{}));
        Scalar all_ones;
        all_ones.fill(0xff);
        push("S-edge/S=2^256-1", "S all ones: reject", key.public_key, fingerprint,
             signature_bytes(r, all_ones));
    }

    // --- R of small order (and R = identity with a valid equation) ---------------
    for (const auto& [label, point] : small_order_encodings()) {
        Scalar k = challenge(point, key.public_key, fingerprint);
        // S = k*a makes [S]B - [k]A the identity: with R = identity the equation holds.
        push("R-small-order/" + label,
             "R of small order, S = k*a (for R = identity the equation holds): "
             "strict verifiers reject small-order R",
             key.public_key, fingerprint, signature_bytes(point, scalar_mul(k, key.secret_scalar)));
    }

    // --- R non-canonical (y >= p) ----------------------------------------------------
    for (unsigned j = 0; j <= 18; ++j)
        for (bool sign_bit : {false, true}) {
            Point point = non_canonical(j, sign_bit);
            Scalar k = challenge(point, key.public_key, fingerprint);
            push("R-noncanonical/p+" + std::to_string(j) + (sign_bit ? "-signbit" : ""),
                 std::string("R encodes y = p + ") + std::to_string(j) +
                     (decodes(point) ? " (a curve point)" : " (not a curve point)") +
                     ", S = k*a: reject (the recomputed R is always canonical)",
                 key.public_key, fingerprint,
                 signature_bytes(point, scalar_mul(k, key.secret_scalar)));
        }

    // --- A of small order with a valid equation -------------------------------------
    for (const auto& [label, point] : small_order_encodings()) {
        Scalar r = nonce("A-small-order " + label);
        Point big_r = base_times(r);
        // k = 0 mod 8 makes [k]A the identity, so R = [r]B, S = r satisfies the equation.
        auto message = message_with_residue(big_r, point, "A-small-order " + label, 0);
        push("A-small-order/" + label,
             "public key of small order; k = 0 mod 8 so [S]B = R + [k]A holds: "
             "strict verifiers reject small-order keys",
             point, message, signature_bytes(big_r, r));
    }

    // --- A non-canonical (y >= p), beyond the two small-order ones above -------------
    for (unsigned j = 2; j <= 18; ++j)
        for (bool sign_bit : {false, true}) {
            Point point = non_canonical(j, sign_bit);
            Scalar r = nonce("A-noncanonical " + std::to_string(j));
            Point big_r = base_times(r);
            push("A-noncanonical/p+" + std::to_string(j) + (sign_bit ? "-signbit" : ""),
                 std::string("public key encodes y = p + ") + std::to_string(j) +
                     (decodes(point) ? " (a curve point)" : " (not a curve point)") + ": reject",
                 point, fingerprint, signature_bytes(big_r, r));
        }

    // --- mixed-order A = A + T --------------------------------------------------------
    for (const auto& [label, torsion] : std::vector<Named>{
             {"order2", order2}, {"order4", order4}, {"order8a", order8a}, {"order8b", order8b}}) {
        Point mixed = must_add(key.public_key, torsion);
        Scalar r = nonce("A-mixed " + label);
        Point big_r = base_times(r);
        for (unsigned residue : {0u, 1u}) {
            auto message = message_with_residue(big_r, mixed, "A-mixed " + label, residue);
            Scalar k = challenge(big_r, mixed, message);
            push("A-mixed-order/" + label +
                     (residue == 0 ? "/cofactorless-valid" : "/cofactored-only"),
                 residue == 0 ? "public key = A + T (" + label +
                                    "), not small order, k = 0 mod 8: the cofactorless equation "
                                    "holds; libsodium has no subgroup check in verify"
                              : "public key = A + T (" + label +
                                    "), k = 1 mod 8: only the cofactored equation holds: "
                                    "cofactorless verifiers reject",
                 mixed, message,
                 signature_bytes(big_r, scalar_add(r, scalar_mul(k, key.secret_scalar))));
        }
    }

    // --- mixed-order R = [r]B + T8 ------------------------------------------------------
    {
        Scalar r = nonce("R-mixed");
        Point big_r = must_add(base_times(r), order8a);
        Scalar k = challenge(big_r, key.public_key, fingerprint);
        push("R-mixed-order/cofactored-only",
             "R = [r]B + T8, S = r + k*a: only the cofactored equation holds: cofactorless "
             "verifiers reject",
             key.public_key, fingerprint,
             signature_bytes(big_r, scalar_add(r, scalar_mul(k, key.secret_scalar))));

        // R and A both mixed with T8 and k = 7 mod 8: [S]B - [k]A = [r]B - [7]T8 = [r]B + T8 = R.
        Point mixed_a = must_add(key.public_key, order8a);
        auto message = message_with_residue(big_r, mixed_a, "R-and-A-mixed", 7);
        Scalar k2 = challenge(big_r, mixed_a, message);
        push("R-and-A-mixed-order/cofactorless-valid",
             "R = [r]B + T8, A + T8, k = 7 mod 8: the cofactorless equation holds", mixed_a,
             message, signature_bytes(big_r, scalar_add(r, scalar_mul(k2, key.secret_scalar))));
    }

    // --- junk ---------------------------------------------------------------------------
    {
        Bytes zero_sig(64, 0);
        Point zero_key{};
        push("junk/all-zero-key-and-signature",
             "all-zero key (y = 0, order 4) and signature: reject", zero_key, fingerprint,
             zero_sig);
        push("junk/zero-signature", "valid key, all-zero signature (R = order-4 point): reject",
             key.public_key, fingerprint, zero_sig);
        push("junk/zero-key", "all-zero key, valid signature: reject", zero_key, fingerprint, good);
        push("junk/ones-signature", "all-ones signature: reject", key.public_key, fingerprint,
             Bytes(64, 0xff));
        Point not_on_curve{};
        for (std::uint8_t y = 2;; ++y) {
            not_on_curve[0] = y;
            if (!decodes(not_on_curve))
                break;
        }
        push("junk/key-not-on-curve",
             "public key y = " + std::to_string(not_on_curve[0]) + " has no x: reject",
             not_on_curve, fingerprint, good);
    }
    return cases;
}

} // namespace nixedge::test
