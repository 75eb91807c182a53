// Vectors of the operations the Worker calls per request: route (cache URL
// paths), narinfo_check (may this narinfo be served?) and nar_plan (which
// chunks answer this GET).
#include "vectors.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/keys.hpp"
#include "nixedge/manifest.hpp"
#include "nixedge/narinfo.hpp"

#include <string>
#include <utility>
#include <vector>

namespace nixedge::test {

namespace {

const std::string store_hash = "z1x7778cix14wkf9vyvv4cb11626crip";

std::string small_manifest() {
    ChunkManifest m;
    m.nar_hash = Sha256::digest(as_bytes("nar"));
    for (std::uint64_t stored : {100, 1, 50, 1000, 7}) {
        m.chunks.push_back({Sha256::digest(as_bytes(std::to_string(stored))), stored * 2, stored});
        m.nar_size += stored * 2;
    }
    return *encode_manifest(m);
}

void route_vectors(Vectors& v) {
    const std::string manifest = encoding::to_hex(Sha256::digest(as_bytes("m")));
    const std::vector<std::string> paths = {
        "/main/nix-cache-info",
        "/main/" + store_hash + ".narinfo",
        "/main/" + store_hash + ".ls",
        "/main/nar/" + manifest + ".nar.zst",
        "/nix-cache-info",
        "/" + store_hash + ".narinfo",
        "/" + store_hash + ".ls",
        "/nar/" + manifest + ".nar.zst",
        "/",
        "",
        "/main",
        "/main/",
        "//nix-cache-info",
        "/main/" + store_hash + ".narinfo/",
        "/main/../" + store_hash + ".narinfo",
        "/main/%2e%2e/" + store_hash + ".narinfo",
        "/main/" + store_hash.substr(1) + ".narinfo",
        "/main/nar/" + manifest + ".nar.xz",
        "/sync/plan",
        "/chunks/nix-cache-info",
        "/a.b/nix-cache-info",
        "/main/sub/nix-cache-info",
        std::string("/main/nix-cache-info\0", 21),
        "/caf\xc3\xa9/nix-cache-info",
    };
    for (std::size_t i = 0; i < paths.size(); ++i)
        for (const std::string default_cache : {"", "main"})
            v.add("route/" + std::to_string(i) + "-default-" +
                      (default_cache.empty() ? "none" : default_cache),
                  "route", {text(paths[i]), text(default_cache)});
}

void narinfo_check_vectors(Vectors& v) {
    auto key_a = *secret_key_from_seed("a-1", Bytes(32, 1));
    auto key_b = *secret_key_from_seed("b-1", Bytes(32, 2));
    const auto manifest = Sha256::digest(as_bytes(small_manifest()));
    auto make = [&](std::string url, std::string compression, std::vector<const SecretKey*> keys) {
        NarInfo info =
            *parse_narinfo("StorePath: /nix/store/" + store_hash + "-hello\nURL: " + url +
                           "\nCompression: " + compression +
                           "\nFileSize: 1158\nNarHash: "
                           "sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv\n"
                           "NarSize: 2316\nReferences: \n");
        for (const SecretKey* key : keys)
            sign_narinfo(info, *key);
        return serialize_narinfo(info);
    };
    const auto url = nar_url(manifest);
    const auto both = make(url, "zstd", {&key_a, &key_b});
    const auto a = key_a.public_key().to_string(), b = key_b.public_key().to_string();
    auto tampered = both;
    tampered.replace(tampered.find("NarSize: 2316"), 13, "NarSize: 2317");
    const std::vector<std::tuple<std::string, std::string, std::string, std::string>> cases = {
        {"signed-by-a-trust-a", make(url, "zstd", {&key_a}), a, store_hash},
        {"signed-by-both-trust-b", both, b, store_hash},
        {"signed-by-both-trust-both", both, a + " " + b, store_hash},
        {"signed-by-a-trust-b", make(url, "zstd", {&key_a}), b, store_hash},
        {"unsigned", make(url, "zstd", {}), a, store_hash},
        {"tampered", tampered, a + " " + b, store_hash},
        {"other-hash", both, a, "5za2hn50p23x3plg2f352s6q0kp4qh1j"},
        {"url-not-manifest", make("nar/abc.nar.xz", "zstd", {&key_a}), a, store_hash},
        {"compression-xz", make(url, "xz", {&key_a}), a, store_hash},
        {"no-trusted-keys", both, "", store_hash},
        {"bad-trusted-key", both, "a-1:short", store_hash},
        {"not-a-narinfo", "hello\n", a, store_hash},
    };
    for (const auto& [label, narinfo, keys, hash] : cases)
        v.add("narinfoCheck/" + label, "narinfoCheck", {text(narinfo), text(keys), text(hash)});
}

void nar_plan_vectors(Vectors& v) {
    const auto manifest = small_manifest();
    const auto name = encoding::to_hex(Sha256::digest(as_bytes(manifest)));
    for (const std::string range : {"", "bytes=0-0", "bytes=99-101", "bytes=100-150", "bytes=-7",
                                    "bytes=150-", "bytes=1158-", "bytes=a-b", "bytes=0-1,3-4"})
        v.add("narPlan/" + (range.empty() ? std::string("no-header") : range), "narPlan",
              {text(manifest), text(name), text(range)});
    v.add("narPlan/wrong-name", "narPlan", {text(manifest), text(std::string(64, 'a')), text("")});
    v.add("narPlan/not-a-manifest", "narPlan",
          {text("x"), text(encoding::to_hex(Sha256::digest(as_bytes("x")))), text("")});
    const std::string empty =
        "nixedge-manifest 1\nnar-hash sha256:" + encoding::to_nix32(Sha256::digest(as_bytes(""))) +
        "\nnar-size 0\n";
    v.add("narPlan/empty-nar", "narPlan",
          {text(empty), text(encoding::to_hex(Sha256::digest(as_bytes(empty)))), text("")});
}

} // namespace

void serving_vectors(Vectors& v) {
    route_vectors(v);
    narinfo_check_vectors(v);
    nar_plan_vectors(v);
}

} // namespace nixedge::test
