#include "nixedge/bucket_layout.hpp"
#include "nixedge/sync_plan.hpp"

#include <catch2/catch.hpp>

using namespace nixedge;

namespace {

SyncPlan sample_plan() {
    auto chunk = Sha256::digest(as_bytes("a chunk"));
    auto manifest = Sha256::digest(as_bytes("a manifest"));
    std::string hash = "0c0jfinfjp1n6qh1vxsgcwq6sbbfjxgh";
    return SyncPlan{{bucket_key::chunk(chunk), bucket_key::manifest(manifest)},
                    {bucket_key::layout_marker(), bucket_key::nix_cache_info("main"),
                     bucket_key::narinfo("main", hash), bucket_key::listing("main", hash)}};
}

} // namespace

TEST_CASE("a sync plan round-trips through its text") {
    auto plan = sample_plan();
    auto text = encode_sync_plan(plan);
    CHECK(text.starts_with("nixedge-sync-plan 1\nimmutable chunks/"));
    auto decoded = decode_sync_plan(text);
    REQUIRE(decoded);
    CHECK(*decoded == plan);
    auto empty = decode_sync_plan(encode_sync_plan({}));
    REQUIRE(empty);
    CHECK(empty->immutable_keys.empty());
    CHECK(empty->mutable_keys.empty());
}

TEST_CASE("a malformed sync plan is refused with its line number") {
    auto text = encode_sync_plan(sample_plan());
    auto expect_error = [](std::string_view bad, std::string_view where) {
        auto decoded = decode_sync_plan(bad);
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().code == ErrorCode::invalid_argument);
        CHECK(decoded.error().detail.find(where) != std::string::npos);
    };
    expect_error("", "empty");
    expect_error("nixedge-sync-plan 2\n", "line 1");
    expect_error(text.substr(0, text.size() - 1), "final newline");
    expect_error("nixedge-sync-plan 1\nimmutable main/nix-cache-info\n", "wrong list");
    expect_error("nixedge-sync-plan 1\nmutable chunks/" + std::string(64, 'a') + "\n",
                 "wrong list");
    expect_error("nixedge-sync-plan 1\nmutable nixedge-layout\nimmutable chunks/" +
                     std::string(64, 'a') + "\n",
                 "line 3");
    expect_error("nixedge-sync-plan 1\ncopy nixedge-layout\n", "line 2");
    expect_error("nixedge-sync-plan 1\nmutable ../etc/passwd\n", "line 2");
}
