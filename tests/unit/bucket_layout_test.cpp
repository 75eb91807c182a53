#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

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

TEST_CASE("parse_object_key inverts every bucket_key function") {
    auto digest = Sha256::digest(as_bytes("chunk"));
    std::string store_hash = "0c0jfinfjp1n6qh1vxsgcwq6sbbfjxgh";
    auto chunk = parse_object_key(bucket_key::chunk(digest));
    REQUIRE(chunk);
    CHECK(chunk->kind == ObjectKind::chunk);
    CHECK(chunk->hash == digest);
    auto manifest = parse_object_key(bucket_key::manifest(digest));
    REQUIRE(manifest);
    CHECK(manifest->kind == ObjectKind::manifest);
    CHECK(manifest->hash == digest);
    auto narinfo = parse_object_key(bucket_key::narinfo("main", store_hash));
    REQUIRE(narinfo);
    CHECK(narinfo->kind == ObjectKind::narinfo);
    CHECK(narinfo->cache == "main");
    CHECK(narinfo->store_hash == store_hash);
    auto listing = parse_object_key(bucket_key::listing("team-a", store_hash));
    REQUIRE(listing);
    CHECK(listing->kind == ObjectKind::listing);
    CHECK(listing->cache == "team-a");
    auto info = parse_object_key(bucket_key::nix_cache_info("main"));
    REQUIRE(info);
    CHECK(info->kind == ObjectKind::nix_cache_info);
    CHECK(parse_object_key(bucket_key::layout_marker())->kind == ObjectKind::layout_marker);
    CHECK(parse_object_key(bucket_key::sync_plan())->kind == ObjectKind::sync_plan);
    CHECK(parse_object_key(bucket_key::sync_status())->kind == ObjectKind::sync_status);
}

TEST_CASE("parse_object_key refuses keys the layout does not name") {
    for (const std::string& key :
         std::vector<std::string>{"", "chunks/", "chunks/ABC", "chunks/" + std::string(63, 'a'),
                                  "manifests/" + std::string(64, 'A'), "main", "main/",
                                  "main/x.narinfo", "nar/0c0jfinfjp1n6qh1vxsgcwq6sbbfjxgh.narinfo",
                                  "main/0c0jfinfjp1n6qh1vxsgcwq6sbbfjxgh.nar", "main/a/b",
                                  "sync/other", "/main/nix-cache-info"}) {
        INFO(key);
        auto parsed = parse_object_key(key);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == ErrorCode::invalid_argument);
    }
}

TEST_CASE("nix-cache-info and the layout marker texts") {
    CHECK(nix_cache_info_text(41) == "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n");
    CHECK(layout_marker_text() == std::to_string(bucket_layout_version) + "\n");
}
