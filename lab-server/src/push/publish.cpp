#include "push/publish.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/keys.hpp"

namespace nixedge::lab {

namespace {

Result<void> check_matches_nar(const NarInfo& client, const NarRecord& nar) {
    if (client.nar_hash.digest != nar.nar_hash)
        return make_error(ErrorCode::invalid_nar,
                          "the narinfo's NarHash " + client.nar_hash.to_string() +
                              " is not the hash of the uploaded NAR (sha256:" +
                              encoding::to_nix32(nar.nar_hash) + ")");
    if (client.nar_size != nar.nar_size)
        return make_error(ErrorCode::invalid_nar, "the narinfo's NarSize " +
                                                      std::to_string(client.nar_size) +
                                                      " is not the size of the uploaded NAR (" +
                                                      std::to_string(nar.nar_size) + ")");
    return {};
}

} // namespace

Result<NarInfo> parse_pushed_narinfo(std::string_view text, std::string_view store_hash) {
    auto info = parse_narinfo(text);
    if (!info)
        return info.error();
    if (info->store_path.hash != store_hash)
        return make_error(ErrorCode::invalid_narinfo, "the narinfo is for " +
                                                          info->store_path.hash + ", not " +
                                                          std::string(store_hash));
    return info;
}

Result<NarInfo> make_cache_narinfo(const NarInfo& client, const NarRecord& nar,
                                   const Cache& cache) {
    if (auto matches = check_matches_nar(client, nar); !matches)
        return matches.error();
    NarInfo info;
    info.store_path = client.store_path;
    info.url = nar_url(nar.manifest_hash);
    info.compression = "zstd";
    info.file_size = nar.file_size;
    info.nar_hash = client.nar_hash;
    info.nar_size = nar.nar_size;
    info.references = client.references;
    info.deriver = client.deriver;
    info.system = client.system;
    info.ca = client.ca;
    for (const auto& key : cache.keys) {
        auto secret = parse_secret_key(key.secret_key);
        if (!secret)
            return make_error(ErrorCode::internal,
                              "cache key " + key.name + " is unreadable: " + secret.error().detail);
        sign_narinfo(info, *secret);
    }
    return info;
}

} // namespace nixedge::lab
