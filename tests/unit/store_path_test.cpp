#include "nixedge/encoding.hpp"
#include "nixedge/nix_hash.hpp"
#include "nixedge/store_path.hpp"

#include <catch2/catch.hpp>

using namespace nixedge;

namespace {
const std::string good_hash = "z1x7778cix14wkf9vyvv4cb11626crip";
}

TEST_CASE("store paths parse into hash and name", "[store_path]") {
    auto path = parse_store_path("/nix/store/" + good_hash + "-nixedge-dep");
    REQUIRE(path.ok());
    CHECK(path->hash == good_hash);
    CHECK(path->name == "nixedge-dep");
    CHECK(path->base_name() == good_hash + "-nixedge-dep");
    CHECK(path->full() == "/nix/store/" + good_hash + "-nixedge-dep");
}

TEST_CASE("store paths outside the store or with bad parts are rejected", "[store_path]") {
    for (const std::string& bad : std::vector<std::string>{
             "/nix/store",
             "/nix/store/",
             "/nix/storex/" + good_hash + "-a",
             "/gnu/store/" + good_hash + "-a",
             "/nix/store/" + good_hash,
             "/nix/store/" + good_hash + "-",
             "/nix/store/" + good_hash + "-a/b",
             "/nix/store/" + good_hash.substr(1) + "-a",      // 31 chars
             "/nix/store/e1x7778cix14wkf9vyvv4cb11626crip-a", // 'e' not nix32
             "/nix/store/" + good_hash + "-a b",
             "/nix/store/" + good_hash + "-a/",
             "/nix/store/" + good_hash + "-..",
             "/nix/store/" + good_hash + "-.",
             "/nix/store/" + good_hash + "-.-x",
             "/nix/store/" + good_hash + "-..-x",
             "/nix/store/" + good_hash + "-caf\xc3\xa9",
         }) {
        INFO(bad);
        auto parsed = parse_store_path(bad);
        CHECK_FALSE(parsed.ok());
        if (!parsed.ok())
            CHECK(parsed.error().code == ErrorCode::invalid_store_path);
    }
}

TEST_CASE("store path names follow Nix's charset and length", "[store_path]") {
    CHECK(validate_store_name("a+b-c.d_e?f=g").ok());
    CHECK(validate_store_name(".dotfile").ok()); // leading dots are allowed, as in Nix
    CHECK(validate_store_name("..x").ok());
    CHECK(validate_store_name(std::string(211, 'a')).ok());
    CHECK_FALSE(validate_store_name(std::string(212, 'a')).ok());
    CHECK_FALSE(validate_store_name("").ok());
    CHECK_FALSE(validate_store_name(std::string_view("a\0b", 3)).ok());
}

TEST_CASE("nix hashes accept Nix's spellings and print as sha256:nix32", "[nix_hash]") {
    const std::string nix32 = "sha256:1c895c13agd4178ia90b1i7v1f11d162jrrmraaya8c28354ncq1";
    auto hash = parse_nix_hash(nix32);
    REQUIRE(hash.ok());
    CHECK(hash->to_string() == nix32);

    auto hex = encoding::to_hex(hash->digest);
    CHECK(*parse_nix_hash("sha256:" + hex) == *hash);
    auto b64 = encoding::to_base64(hash->digest);
    CHECK(*parse_nix_hash("sha256:" + b64) == *hash);
    CHECK(*parse_nix_hash("sha256-" + b64) == *hash);

    CHECK_FALSE(parse_nix_hash("md5:abc").ok());
    CHECK_FALSE(parse_nix_hash("sha256:").ok());
    CHECK_FALSE(parse_nix_hash("sha256:" + hex.substr(2)).ok());
    CHECK_FALSE(parse_nix_hash(nix32.substr(0, nix32.size() - 1) + "e").ok());
}
