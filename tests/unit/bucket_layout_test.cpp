#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"

#include <catch2/catch.hpp>

using namespace nixedge;

TEST_CASE("bucket keys follow docs/bucket-layout.md", "[bucket_layout]") {
    auto digest = Sha256::digest(as_bytes("chunk"));
    auto hex = encoding::to_hex(digest);
    CHECK(bucket_key::chunk(digest) == "chunks/" + hex);
    CHECK(bucket_key::manifest(digest) == "manifests/" + hex);
    CHECK(bucket_key::nix_cache_info("main") == "main/nix-cache-info");
    CHECK(bucket_key::narinfo("main", "z1x7778cix14wkf9vyvv4cb11626crip") ==
          "main/z1x7778cix14wkf9vyvv4cb11626crip.narinfo");
    CHECK(bucket_key::listing("main", "z1x7778cix14wkf9vyvv4cb11626crip") ==
          "main/z1x7778cix14wkf9vyvv4cb11626crip.ls");
    CHECK(bucket_key::sync_plan() == "sync/plan");
    CHECK(bucket_key::sync_status() == "sync/status");
    CHECK(bucket_key::layout_marker() == "nixedge-layout");
}

TEST_CASE("NAR URLs name the manifest and parse back strictly", "[bucket_layout]") {
    auto digest = Sha256::digest(as_bytes("manifest"));
    auto url = nar_url(digest);
    CHECK(url == "nar/" + encoding::to_hex(digest) + ".nar.zst");
    auto parsed = parse_nar_url(url);
    REQUIRE(parsed.ok());
    CHECK(*parsed == digest);
    std::string upper = url;
    upper[4] = 'A';
    CHECK_FALSE(parse_nar_url(upper).ok());
    CHECK_FALSE(parse_nar_url("nar/../" + url).ok());
    CHECK_FALSE(parse_nar_url(url + "x").ok());
    CHECK_FALSE(parse_nar_url("nar/" + encoding::to_hex(digest) + ".nar.xz").ok());
}

TEST_CASE("cache names: charset, length, reserved", "[bucket_layout]") {
    for (auto good :
         {"main", "lab-ci", "a", "A_1", "x2345678901234567890123456789012345678901234567890"})
        CHECK(validate_cache_name(good).ok());
    for (auto bad : {"", "-x", "_x", "a.b", "a/b", "..", "a b", "ünï",
                     "x23456789012345678901234567890123456789012345678901"}) {
        INFO(bad);
        CHECK(validate_cache_name(bad).error().code == ErrorCode::invalid_cache_name);
    }
    for (auto reserved : {"nar", "_api", "metrics", "healthz", "readyz", "sync", "chunks",
                          "manifests", "nix-cache-info", "nixedge-layout"}) {
        INFO(reserved);
        CHECK(is_reserved_cache_name(reserved));
    }
    CHECK(validate_cache_name("chunks").error().detail.find("reserved") != std::string::npos);
}
