#include "nixedge/encoding.hpp"
#include "nixedge/keys.hpp"
#include "test_files.hpp"

#include <catch2/catch.hpp>

using namespace nixedge;

namespace {
Bytes seed_of(std::uint8_t fill) {
    return Bytes(32, fill);
}
} // namespace

TEST_CASE("keys made by `nix key generate-secret` parse and match", "[keys]") {
    auto dir = test::data_dir() / "nixcache";
    auto secret = parse_secret_key(test::trim_newline(test::read_file(dir / "sk")));
    REQUIRE(secret.ok());
    auto public_key = parse_public_key(test::trim_newline(test::read_file(dir / "pk")));
    REQUIRE(public_key.ok());
    CHECK(secret->name == "nixedge-test-1");
    CHECK(secret->public_key() == *public_key);
    CHECK(secret->to_string() == test::trim_newline(test::read_file(dir / "sk")));
    CHECK(public_key->to_string() == test::trim_newline(test::read_file(dir / "pk")));
}

TEST_CASE("sign and verify round-trip, tampering fails", "[keys]") {
    auto key = secret_key_from_seed("lab-1", seed_of(7));
    REQUIRE(key.ok());
    auto sig = sign(*key, "message");
    CHECK(sig.key_name == "lab-1");
    CHECK(verify(key->public_key(), "message", sig));
    CHECK_FALSE(verify(key->public_key(), "messagE", sig));
    auto tampered = sig;
    tampered.bytes[10] ^= 1;
    CHECK_FALSE(verify(key->public_key(), "message", tampered));
    auto reparsed = parse_signature(sig.to_string());
    REQUIRE(reparsed.ok());
    CHECK(reparsed->bytes == sig.bytes);
}

TEST_CASE("malformed keys and signatures are rejected with clear codes", "[keys]") {
    CHECK(parse_public_key("nocolon").error().code == ErrorCode::invalid_key);
    CHECK(parse_public_key(":AAAA").error().code == ErrorCode::invalid_key);
    CHECK(parse_public_key("a b:" + encoding::to_base64(Bytes(32))).error().code ==
          ErrorCode::invalid_key);
    CHECK_FALSE(parse_public_key("k:" + encoding::to_base64(Bytes(31))).ok());
    CHECK_FALSE(parse_secret_key("k:" + encoding::to_base64(Bytes(32))).ok());
    CHECK(parse_signature("k:!!!!").error().code == ErrorCode::bad_signature);

    // A secret key whose public half is not its seed's.
    auto key = secret_key_from_seed("k", seed_of(1));
    auto bytes = Bytes(key->bytes.begin(), key->bytes.end());
    bytes[40] ^= 1;
    CHECK_FALSE(parse_secret_key("k:" + encoding::to_base64(bytes)).ok());
}

TEST_CASE("trusted keys pick the signature by key name, skipping junk", "[keys]") {
    auto old_key = secret_key_from_seed("cache-1", seed_of(1));
    auto new_key = secret_key_from_seed("cache-2", seed_of(2));
    auto stranger = secret_key_from_seed("cache-1", seed_of(3)); // same name, other key

    TrustedKeys trusted;
    REQUIRE(trusted.add(new_key->public_key()).ok());
    CHECK(trusted.add(new_key->public_key()).ok()); // same key twice is fine
    // A different key under a name already trusted is refused.
    CHECK_FALSE(trusted.add(PublicKey{"cache-2", stranger->public_key().bytes}).ok());

    std::vector<std::string> sigs = {"garbage", sign(*old_key, "m").to_string(),
                                     sign(*new_key, "m").to_string()};
    CHECK(trusted.verify_any("m", sigs) == std::optional<std::string>("cache-2"));
    CHECK_FALSE(trusted.verify_any("other", sigs).has_value());

    TrustedKeys only_old;
    REQUIRE(only_old.add(old_key->public_key()).ok());
    CHECK(only_old.verify_any("m", sigs) == std::optional<std::string>("cache-1"));
    // A signature under a trusted name but by another key does not verify.
    CHECK_FALSE(only_old.verify_any("m", {sign(*stranger, "m").to_string()}).has_value());
}
