#include "nixedge/encoding.hpp"
#include "nixedge/sha256.hpp"

#include <catch2/catch.hpp>

using namespace nixedge;
using namespace nixedge::encoding;

TEST_CASE("hex round-trips and rejects bad input", "[encoding]") {
    Bytes data{0x00, 0x01, 0xab, 0xff};
    CHECK(to_hex(data) == "0001abff");
    CHECK(*from_hex("0001ABff") == data);
    CHECK_FALSE(from_hex("abc").ok());
    CHECK(from_hex("zz").error().code == ErrorCode::invalid_encoding);
}

TEST_CASE("nix32 matches Nix's encoding of SHA-256 digests", "[encoding]") {
    // `nix hash file --base32` of the empty string and of "hello\n".
    CHECK(to_nix32(Sha256::digest(as_bytes(""))) ==
          "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73");
    CHECK(to_nix32(Sha256::digest(as_bytes("hello\n"))) ==
          "00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq");
    CHECK(nix32_length(20) == 32);
    CHECK(nix32_length(32) == 52);
}

TEST_CASE("nix32 round-trips every length and rejects bad input", "[encoding]") {
    for (std::size_t n = 0; n < 40; ++n) {
        Bytes data(n);
        for (std::size_t i = 0; i < n; ++i)
            data[i] = static_cast<std::uint8_t>(i * 37 + n);
        auto text = to_nix32(data);
        REQUIRE(text.size() == nix32_length(n));
        auto back = from_nix32(text, n);
        REQUIRE(back.ok());
        CHECK(*back == data);
    }
    CHECK_FALSE(from_nix32("e000000000000000000000000000000", 20).ok()); // 'e' not in alphabet
    CHECK_FALSE(from_nix32("0000", 20).ok());                            // wrong length
    // 32 bytes take 52 chars = 260 bits: the top 4 bits of the first char must be zero.
    CHECK_FALSE(from_nix32(std::string(52, 'z'), 32).ok());
    // Byte counts whose text length overflows a 32-bit size_t (wasm32).
    CHECK_FALSE(from_nix32("", 0x40000000).ok());
    CHECK_FALSE(from_nix32("", 0x80000000).ok());
    CHECK(from_nix32("", 0xffffffff).error().detail ==
          "nix32 text has length 0, expected 6871947672");
}

TEST_CASE("base64 is RFC 4648 with padding and strict", "[encoding]") {
    CHECK(to_base64(as_bytes("")) == "");
    CHECK(to_base64(as_bytes("f")) == "Zg==");
    CHECK(to_base64(as_bytes("fo")) == "Zm8=");
    CHECK(to_base64(as_bytes("foo")) == "Zm9v");
    CHECK(to_base64(as_bytes("foobar")) == "Zm9vYmFy");
    CHECK(as_chars(*from_base64("Zm9vYg==")) == "foob");
    CHECK_FALSE(from_base64("Zm9").ok());
    CHECK_FALSE(from_base64("Zm=v").ok());
    CHECK_FALSE(from_base64("Zh==").ok()); // non-zero padding bits
    CHECK_FALSE(from_base64("Zm9v\n").ok());
}

TEST_CASE("SHA-256 streaming equals one-shot for any split", "[sha256]") {
    std::string text(1000, '\0');
    for (std::size_t i = 0; i < text.size(); ++i)
        text[i] = static_cast<char>(i * 7);
    auto whole = Sha256::digest(as_bytes(text));
    for (std::size_t split : {0u, 1u, 63u, 64u, 65u, 999u, 1000u}) {
        Sha256 h;
        h.update(as_bytes(text).subspan(0, split));
        h.update(as_bytes(text).subspan(split));
        CHECK(h.finish() == whole);
    }
    CHECK(to_hex(Sha256::digest(as_bytes("abc"))) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
