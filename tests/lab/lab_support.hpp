// A lab server's route table on a temporary data directory, called without
// sockets (http::testing::call), with tokens and NARs for the tests of the
// cache's endpoints.
#pragma once

#include "app/lab.hpp"
#include "auth/token.hpp"
#include "config/environment.hpp"
#include "http/testing.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/nar.hpp"
#include "nixedge/narinfo.hpp"
#include "nixedge/zstd_frames.hpp"
#include "routes/lab_routes.hpp"
#include "storage/storage.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace nixedge::test {

inline constexpr std::string_view test_secret_hex =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

struct LabFixture {
    TempDir dir;
    lab::Lab lab;
    std::shared_ptr<lab::http::Metrics> metrics = std::make_shared<lab::http::Metrics>();
    std::unique_ptr<lab::LabContext> context;
    std::shared_ptr<lab::http::Router> router;

    explicit LabFixture(std::string extra_toml = {}) {
        lab::FixedEnvironment env{{"NIXEDGE_TOKEN_HS256_SECRET", std::string(test_secret_hex)}};
        auto config = lab::parse_config(
            "[server]\ndata_dir = \"" + dir.path().string() + "\"\n" + extra_toml, env);
        if (!config)
            FAIL("config: " << config.error().detail);
        auto opened = lab::open_lab(*config);
        if (!opened)
            FAIL("open_lab: " << opened.error().detail);
        lab = std::move(*opened);
        auto made = lab::LabContext::create(lab, *metrics);
        REQUIRE(made);
        context = std::move(*made);
        auto table = lab::make_lab_router(*context, metrics);
        REQUIRE(table);
        router = *table;
    }

    lab::Cache create_cache(const std::string& name, bool is_public = false, bool edge = false) {
        auto settings = lab::default_cache_settings(lab.config);
        settings.is_public = is_public;
        settings.edge_enabled = edge;
        auto key = lab::generate_signing_key(lab::default_key_name(name));
        REQUIRE(key);
        auto cache = lab.metadata->create_cache(name, settings, *key);
        REQUIRE(cache);
        return *cache;
    }

    std::string token(const std::vector<std::pair<std::string, lab::Permission>>& grants,
                      std::string subject = "ci") {
        std::vector<lab::CacheGrant> claims;
        for (const auto& [pattern, permission] : grants)
            REQUIRE(lab::add_grant(claims, pattern, permission));
        auto secret = encoding::from_hex(test_secret_hex);
        auto made = lab::make_token(*secret, subject, std::chrono::hours(1), claims);
        REQUIRE(made);
        return *made;
    }

    Result<lab::http::testing::CallResult> call(lab::http::Verb method, const std::string& target,
                                                const std::string& token = {},
                                                std::string body = {}, std::string range = {}) {
        lab::http::testing::CallOptions options;
        if (!token.empty())
            options.headers.set(boost::beast::http::field::authorization, "Bearer " + token);
        if (!range.empty())
            options.headers.set(boost::beast::http::field::range, range);
        options.body = std::move(body);
        options.default_body_limit = 1 << 20;
        return lab::http::testing::call(*router, method, target, std::move(options));
    }
};

// A NAR of one regular file with `contents`.
inline std::string file_nar(std::string_view contents) {
    NarWriter writer;
    REQUIRE(writer.file("", as_bytes(contents)));
    auto bytes = writer.take_output();
    return std::string(as_chars(bytes));
}

// The narinfo Nix would PUT for `nar` uploaded uncompressed under `url`.
inline std::string client_narinfo(const StorePath& path, std::string_view nar, std::string url,
                                  std::vector<StorePath> references = {}) {
    NarInfo info;
    info.store_path = path;
    info.url = std::move(url);
    info.compression = "none";
    info.nar_hash.digest = Sha256::digest(as_bytes(nar));
    info.nar_size = nar.size();
    info.references = std::move(references);
    return serialize_narinfo(info);
}

// A store path named `name`, with a hash part made from it.
inline StorePath path_named(const std::string& name) {
    auto hash = encoding::to_nix32(Sha256::digest(as_bytes(name))).substr(0, 32);
    return StorePath{hash, name};
}

// Concatenated zstd frames (a served NAR), decompressed.
inline std::string decompress_frames(const std::string& frames) {
    auto d = ZstdDecompressor::create();
    REQUIRE(d);
    Bytes out;
    REQUIRE(
        d->feed(as_bytes(frames), [&](ByteView b) { out.insert(out.end(), b.begin(), b.end()); }));
    REQUIRE(d->finish());
    return std::string(as_chars(out));
}

inline std::string object_text(LabFixture& f, const std::string& key) {
    auto bytes = lab::read_object(*f.lab.storage, key, 64 << 20);
    REQUIRE(bytes);
    return std::string(as_chars(*bytes));
}

inline std::string nix_nar_url(std::string_view nar);

// The whole of Nix's push of one path: HEAD the NAR, PUT it unless the HEAD
// found it staged, PUT the narinfo. The status of the first refusal, or 200.
inline lab::http::Status push_path(LabFixture& f, const std::string& cache,
                                   const std::string& token, const StorePath& path,
                                   const std::string& nar, std::vector<StorePath> references = {}) {
    using lab::http::Status;
    using lab::http::Verb;
    auto url = nix_nar_url(nar);
    auto head = f.call(Verb::head, "/" + cache + "/" + url, token);
    REQUIRE(head);
    if (head->status != Status::ok) {
        auto put = f.call(Verb::put, "/" + cache + "/" + url, token, nar);
        REQUIRE(put);
        if (put->status != Status::ok)
            return put->status;
    }
    auto info = f.call(Verb::put, "/" + cache + "/" + path.hash + ".narinfo", token,
                       client_narinfo(path, nar, url, std::move(references)));
    REQUIRE(info);
    return info->status;
}

inline std::string nix_nar_url(std::string_view nar) {
    return "nar/" + encoding::to_nix32(Sha256::digest(as_bytes(nar))) + ".nar";
}

// The NAR the lab serves for a path, decompressed.
inline std::string served_nar(LabFixture& f, const std::string& cache, const std::string& token,
                              const StorePath& path) {
    auto info = parse_narinfo(
        f.call(lab::http::Verb::get, "/" + cache + "/" + path.hash + ".narinfo", token)
            .value()
            .body);
    REQUIRE(info);
    auto body = f.call(lab::http::Verb::get, "/" + cache + "/" + info->url, token);
    REQUIRE(body);
    REQUIRE(body->status == lab::http::Status::ok);
    return decompress_frames(body->body);
}

} // namespace nixedge::test
