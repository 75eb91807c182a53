#include "nixedge/cache_path.hpp"
#include "nixedge/encoding.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace nixedge;

namespace {

constexpr std::string_view hash = "z1x7778cix14wkf9vyvv4cb11626crip";

std::string manifest_hex() {
    return encoding::to_hex(Sha256::digest(as_bytes("manifest")));
}

} // namespace

TEST_CASE("cache paths name the four objects of a cache", "[cache_path]") {
    auto info = parse_cache_path("/main/nix-cache-info", "");
    REQUIRE(info.ok());
    CHECK(info->object == CacheObject::nix_cache_info);
    CHECK(info->cache == "main");

    auto narinfo = parse_cache_path("/main/" + std::string(hash) + ".narinfo", "");
    REQUIRE(narinfo.ok());
    CHECK(narinfo->object == CacheObject::narinfo);
    CHECK(narinfo->store_hash == hash);

    auto listing = parse_cache_path("/team-2/" + std::string(hash) + ".ls", "");
    REQUIRE(listing.ok());
    CHECK(listing->object == CacheObject::listing);
    CHECK(listing->cache == "team-2");

    auto nar = parse_cache_path("/main/nar/" + manifest_hex() + ".nar.zst", "");
    REQUIRE(nar.ok());
    CHECK(nar->object == CacheObject::nar);
    CHECK(encoding::to_hex(nar->manifest) == manifest_hex());
}

TEST_CASE("bare cache paths belong to the default cache, if there is one", "[cache_path]") {
    for (std::string path :
         {std::string("/nix-cache-info"), "/" + std::string(hash) + ".narinfo",
          "/" + std::string(hash) + ".ls", "/nar/" + manifest_hex() + ".nar.zst"}) {
        INFO(path);
        auto parsed = parse_cache_path(path, "main");
        REQUIRE(parsed.ok());
        CHECK(parsed->cache == "main");
        auto without_default = parse_cache_path(path, "");
        REQUIRE_FALSE(without_default.ok());
        CHECK(without_default.error().code == ErrorCode::not_found);
    }
}

TEST_CASE("cache paths refuse everything else", "[cache_path]") {
    const std::string h(hash);
    for (const std::string& path : std::vector<std::string>{
             std::string(""),
             std::string("/"),
             std::string("main/nix-cache-info"),
             std::string("/main/"),
             std::string("/main"),
             std::string("/main/nix-cache-info/"),
             "/main//" + h + ".narinfo",
             "/main/" + h + ".narinfo/",
             "/main/" + h.substr(1) + ".narinfo",
             "/main/" + h + "e.narinfo",
             "/main/" + h.substr(0, 31) + "e.narinfo", // 'e' is not nix32
             "/main/" + h + ".NARINFO",
             "/main/" + h + ".nar",
             "/main/../" + h + ".narinfo",
             "/main/./" + h + ".narinfo",
             "/main/%2e%2e/" + h + ".narinfo",
             "/main/nar/" + manifest_hex() + ".nar.xz",
             "/main/nar/" + manifest_hex() + ".nar",
             "/main/nar/../" + manifest_hex() + ".nar.zst",
             "/main/nar/" + manifest_hex().substr(1) + ".nar.zst",
             "/a/b/" + h + ".narinfo",
             "/main/sub/nix-cache-info",
         }) {
        INFO(path);
        auto parsed = parse_cache_path(path, "main");
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.error().code == ErrorCode::not_found);
    }
}

TEST_CASE("the cache segment must be a valid, unreserved cache name", "[cache_path]") {
    const std::string h(hash);
    for (const std::string& path : std::vector<std::string>{
             "/sync/" + h + ".narinfo", std::string("/chunks/nix-cache-info"), "//nix-cache-info",
             "/../main/" + h + ".narinfo", "/-x/nix-cache-info", "/a.b/nix-cache-info",
             "/%6dain/nix-cache-info", "/" + std::string(51, 'a') + "/nix-cache-info"}) {
        INFO(path);
        auto parsed = parse_cache_path(path, "main");
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.error().code == ErrorCode::invalid_cache_name);
    }
}
