// The Attic API (/_api/v1) with requests shaped exactly as Attic's client
// (client/src/api/mod.rs) sends them: its JSON, its headers (the info in
// X-Attic-Nar-Info or as a body preamble, a chunked body), its "bearer"
// token; and answers checked the way its client reads them.
#include "lab_support.hpp"

#include "attic/api_types.hpp"

#include <nlohmann/json.hpp>

using namespace nixedge;
using namespace nixedge::test;
using lab::Permission;
using lab::http::Status;
using lab::http::Verb;

namespace {

using Json = nlohmann::json;

// What `attic cache create main` sends (CreateCacheRequest, defaults of the CLI).
constexpr std::string_view attic_create_body =
    R"({"keypair":"Generate","is_public":false,"store_dir":"/nix/store","priority":41,)"
    R"("upstream_cache_key_names":["cache.nixos.org-1"]})";

enum class InfoIn { header, preamble };

struct AtticCall {
    using Headers = std::vector<std::pair<std::string, std::string>>;
    AtticCall(std::string token_ = {}, std::string body_ = {}, Headers headers_ = {},
              bool chunked_ = false)
        : token(std::move(token_)), body(std::move(body_)), headers(std::move(headers_)),
          chunked(chunked_) {}
    std::string token;
    std::string body;
    Headers headers;
    bool chunked;
};

Result<lab::http::testing::CallResult> attic_call(LabFixture& f, Verb method,
                                                  const std::string& target, AtticCall request) {
    lab::http::testing::CallOptions options;
    options.headers.set(boost::beast::http::field::host, "lab.test:8080");
    options.headers.set(boost::beast::http::field::user_agent, "Attic/attic-client (nixpkgs)");
    // Attic's client writes the scheme in lower case.
    if (!request.token.empty())
        options.headers.set(boost::beast::http::field::authorization, "bearer " + request.token);
    for (const auto& [name, value] : request.headers)
        options.headers.set(name, value);
    options.body = std::move(request.body);
    options.unknown_length = request.chunked;
    options.default_body_limit = 1 << 20;
    return lab::http::testing::call(*f.router, method, target, std::move(options));
}

// UploadPathNarInfo as Attic's client fills it for a path of `nar`.
lab::attic::UploadPathInfo upload_info(const std::string& cache, const StorePath& path,
                                       const std::string& nar,
                                       const std::vector<StorePath>& references = {}) {
    lab::attic::UploadPathInfo info;
    info.cache = cache;
    info.store_path_hash = path.hash;
    info.store_path = path.full();
    for (const auto& reference : references)
        info.references.push_back(reference.full());
    info.sigs = {"cache.example.org-1:c2lnbmF0dXJl"};
    info.nar_hash.digest = Sha256::digest(as_bytes(nar));
    info.nar_size = nar.size();
    return info;
}

Result<lab::http::testing::CallResult> upload(LabFixture& f, const std::string& token,
                                              const lab::attic::UploadPathInfo& info,
                                              const std::string& nar, InfoIn where = InfoIn::header,
                                              bool chunked = true) {
    auto json = lab::attic::serialize(info);
    AtticCall request{token, nar, {}, chunked};
    request.headers.push_back({"Content-Type", "application/octet-stream"});
    if (where == InfoIn::header) {
        request.headers.push_back({"X-Attic-Nar-Info", json});
    } else {
        request.headers.push_back({"X-Attic-Nar-Info-Preamble-Size", std::to_string(json.size())});
        request.body = json + nar;
    }
    return attic_call(f, Verb::put, "/_api/v1/upload-path", std::move(request));
}

Json body_json(const lab::http::testing::CallResult& result) {
    return Json::parse(result.body);
}

// Attic's client shows "<error>: <message>" of a StructuredApiError {code, error, message}.
lab::attic::ApiError api_error(const lab::http::testing::CallResult& result) {
    auto error = lab::attic::parse_api_error(result.body);
    REQUIRE(error);
    CHECK(error->code == static_cast<unsigned>(result.status));
    return *error;
}

std::string narinfo_of(LabFixture& f, const std::string& cache, const std::string& token,
                       const StorePath& path) {
    auto got = f.call(Verb::get, "/" + cache + "/" + path.hash + ".narinfo", token);
    REQUIRE(got);
    return got->status == Status::ok ? got->body : std::string();
}

} // namespace

TEST_CASE("attic api: wire types read what Attic's client writes and write what it reads",
          "[attic]") {
    auto info = lab::attic::parse_upload_path_info(
        R"({"cache":"main","store_path_hash":"7gnfx6bahwchw5d0xhrvqjqb5v2c3wrm",)"
        R"("store_path":"/nix/store/7gnfx6bahwchw5d0xhrvqjqb5v2c3wrm-hello-2.12",)"
        R"("references":["/nix/store/7gnfx6bahwchw5d0xhrvqjqb5v2c3wrm-hello-2.12"],)"
        R"("system":null,"deriver":null,"sigs":["cache.nixos.org-1:abc"],"ca":null,)"
        R"("nar_hash":"sha256:d9b6d0bd7ab1a2a9c2b77a7b9ae2e42f0d4bcd25bdff6d5d5b0cd56ac0c5b0a3",)"
        R"("nar_size":226560,"unknown_later_field":1})");
    REQUIRE(info);
    CHECK(info->cache == "main");
    CHECK(info->nar_size == 226560);
    CHECK_FALSE(info->system);
    CHECK(encoding::to_hex(info->nar_hash.digest) ==
          "d9b6d0bd7ab1a2a9c2b77a7b9ae2e42f0d4bcd25bdff6d5d5b0cd56ac0c5b0a3");
    // Round trip, with the hash in Attic's typed base16.
    auto again = lab::attic::parse_upload_path_info(lab::attic::serialize(*info));
    REQUIRE(again);
    CHECK(lab::attic::serialize(*again) == lab::attic::serialize(*info));
    CHECK(lab::attic::serialize(*info).find("\"nar_hash\":\"sha256:d9b6d0bd") != std::string::npos);
    // Nix's own nix32 spelling is read too.
    auto nix32 = Json::parse(lab::attic::serialize(*info));
    nix32["nar_hash"] = info->nar_hash.to_string();
    auto from_nix32 = lab::attic::parse_upload_path_info(nix32.dump());
    REQUIRE(from_nix32);
    CHECK(from_nix32->nar_hash == info->nar_hash);

    for (const char* field : {"cache", "store_path_hash", "nar_hash", "nar_size", "sigs"}) {
        auto missing = nix32;
        missing.erase(field);
        auto parsed = lab::attic::parse_upload_path_info(missing.dump());
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().detail.find(field) != std::string::npos);
    }
    auto bad_hash = nix32;
    bad_hash["store_path_hash"] = "not-a-hash";
    CHECK_FALSE(lab::attic::parse_upload_path_info(bad_hash.dump()));
    CHECK_FALSE(lab::attic::parse_upload_path_info("[]"));
    CHECK_FALSE(lab::attic::parse_upload_path_info("{"));

    // UploadPathResult: frac_deduplicated is null when unknown; a kind the
    // client does not know reads as Uploaded (DefaultOnError).
    CHECK(lab::attic::serialize(lab::attic::UploadPathResult{}) ==
          R"({"frac_deduplicated":null,"kind":"Uploaded"})");
    auto result = lab::attic::parse_upload_path_result(R"({"kind":"Deduplicated","file_size":5})");
    REQUIRE(result);
    CHECK(result->kind == lab::attic::UploadKind::deduplicated);
    CHECK(result->file_size == 5u);
    CHECK(lab::attic::parse_upload_path_result(R"({"kind":"Later"})")->kind ==
          lab::attic::UploadKind::uploaded);

    // The enums, externally tagged as serde writes them.
    auto create = lab::attic::parse_create_cache_request(attic_create_body);
    REQUIRE(create);
    CHECK(create->keypair.generate);
    CHECK(create->priority == 41);
    CHECK(Json::parse(lab::attic::serialize(*create)) == Json::parse(attic_create_body));
    auto config = lab::attic::parse_cache_config(
        R"({"keypair":{"Keypair":"k-1:AAAA"},"retention_period":{"Period":3600}})");
    REQUIRE(config);
    CHECK_FALSE(config->keypair->generate);
    CHECK(config->keypair->secret_key == "k-1:AAAA");
    CHECK(config->retention_period->seconds == 3600);
    CHECK(lab::attic::parse_cache_config(R"({"retention_period":"Global"})")
              ->retention_period->global);
    CHECK_FALSE(lab::attic::parse_cache_config(R"({"retention_period":{"Period":-1}})"));
    CHECK_FALSE(lab::attic::parse_cache_config(R"({"keypair":"Later"})"));
    CHECK_FALSE(lab::attic::parse_cache_config(R"({"priority":"high"})"));
    // Attic leaves out what is None.
    CHECK(lab::attic::serialize(lab::attic::CacheConfig{}) == "{}");

    CHECK_FALSE(lab::attic::parse_api_error("<html>bad gateway</html>"));
    CHECK_FALSE(lab::attic::parse_api_error(R"({"code":"not_found","error":"x","message":"y"})"));
}

TEST_CASE("attic api: create, info, configure and destroy a cache as `attic cache` does",
          "[attic]") {
    LabFixture f;
    auto admin = f.token({{"main", Permission::create_cache},
                          {"main", Permission::pull},
                          {"main", Permission::configure_cache},
                          {"main", Permission::destroy_cache}});
    const std::string config_url = "/_api/v1/cache-config/main";

    auto anonymous = attic_call(f, Verb::post, config_url, {{}, std::string(attic_create_body)});
    REQUIRE(anonymous);
    CHECK(anonymous->status == Status::unauthorized);
    auto pull_only = f.token({{"main", Permission::pull}});
    auto refused =
        attic_call(f, Verb::post, config_url, {pull_only, std::string(attic_create_body)});
    REQUIRE(refused);
    CHECK(refused->status == Status::forbidden);
    CHECK(api_error(*refused).error == "forbidden");

    auto created = attic_call(f, Verb::post, config_url, {admin, std::string(attic_create_body)});
    REQUIRE(created);
    CHECK(created->status == Status::ok);
    CHECK(created->body.empty());
    // Attic: 400 CacheAlreadyExists.
    auto twice = attic_call(f, Verb::post, config_url, {admin, std::string(attic_create_body)});
    REQUIRE(twice);
    CHECK(twice->status == Status::bad_request);
    CHECK(api_error(*twice).error == "cache_already_exists");

    // `attic cache info` and `attic use` read this.
    auto info = attic_call(f, Verb::get, config_url, {admin});
    REQUIRE(info);
    REQUIRE(info->status == Status::ok);
    auto json = body_json(*info);
    CHECK(json["api_endpoint"] == "http://lab.test:8080/");
    CHECK(json["substituter_endpoint"] == "http://lab.test:8080/main");
    CHECK(json["public_key"].get<std::string>().starts_with("main-1:"));
    CHECK(json["is_public"] == false);
    CHECK(json["store_dir"] == "/nix/store");
    CHECK(json["priority"] == 41);
    CHECK(json["upstream_cache_key_names"] == Json::array({"cache.nixos.org-1"}));
    CHECK(json["retention_period"].contains("Period"));
    CHECK_FALSE(json.contains("keypair"));
    // A cache that names upstream keys takes references to their paths.
    CHECK(json["allow_upstream_references"] == true);
    auto behind_tls =
        attic_call(f, Verb::get, config_url, {admin, {}, {{"X-Forwarded-Proto", "https"}}});
    CHECK(body_json(*behind_tls)["substituter_endpoint"] == "https://lab.test:8080/main");
    auto cache_info = attic_call(f, Verb::get, "/main/attic-cache-info", {admin});
    REQUIRE(cache_info);
    CHECK(cache_info->body == info->body);
    // What the cache is is nobody's business without a token (it is private).
    CHECK(attic_call(f, Verb::get, config_url, {})->status == Status::unauthorized);

    // `attic cache configure main --public --priority 30`.
    auto configured =
        attic_call(f, Verb::patch, config_url, {admin, R"({"is_public":true,"priority":30})"});
    REQUIRE(configured);
    CHECK(configured->status == Status::ok);
    json = body_json(*attic_call(f, Verb::get, config_url, {admin}));
    CHECK(json["is_public"] == true);
    CHECK(json["priority"] == 30);
    CHECK(f.call(Verb::get, "/main/nix-cache-info")->body.find("Priority: 30") !=
          std::string::npos);
    auto nothing = attic_call(f, Verb::patch, config_url, {admin, "{}"});
    REQUIRE(nothing);
    CHECK(nothing->status == Status::bad_request);
    CHECK(api_error(*nothing).message == "no modifiable fields were set");
    auto other_dir = attic_call(f, Verb::patch, config_url, {admin, R"({"store_dir":"/gnu"})"});
    CHECK(other_dir->status == Status::bad_request);

    // Retention needs cq besides cr, as in Attic.
    const std::string retention = R"({"retention_period":{"Period":86400}})";
    CHECK(attic_call(f, Verb::patch, config_url, {admin, retention})->status == Status::forbidden);
    auto keeper = f.token(
        {{"main", Permission::configure_cache}, {"main", Permission::configure_cache_retention}});
    CHECK(attic_call(f, Verb::patch, config_url, {keeper, retention})->status == Status::ok);
    CHECK(body_json(*attic_call(f, Verb::get, config_url, {admin}))["retention_period"] ==
          Json{{"Period", 86400}});

    // A new keypair rotates: the new key is advertised, both sign.
    auto old_key = json["public_key"].get<std::string>();
    CHECK(attic_call(f, Verb::patch, config_url, {admin, R"({"keypair":"Generate"})"})->status ==
          Status::ok);
    auto new_key = body_json(*attic_call(f, Verb::get, config_url, {admin}))["public_key"];
    CHECK(new_key.get<std::string>().starts_with("main-2:"));
    auto cache = f.lab.metadata->get_cache("main");
    REQUIRE(cache);
    REQUIRE((*cache)->keys.size() == 2);
    CHECK((*cache)->keys[0].state == lab::KeyState::retiring);
    CHECK((*cache)->keys[0].public_key == old_key);
    auto pusher = f.token({{"main", Permission::push}, {"main", Permission::pull}});
    auto path = path_named("rotated");
    auto nar = file_nar("signed twice");
    REQUIRE(upload(f, pusher, upload_info("main", path, nar), nar)->status == Status::ok);
    auto narinfo = parse_narinfo(narinfo_of(f, "main", pusher, path));
    REQUIRE(narinfo);
    CHECK(narinfo->signatures.size() == 2);

    // `attic cache destroy main`.
    CHECK(attic_call(f, Verb::delete_, config_url, {pull_only})->status == Status::forbidden);
    auto destroyed = attic_call(f, Verb::delete_, config_url, {admin});
    REQUIRE(destroyed);
    CHECK(destroyed->status == Status::ok);
    auto gone = attic_call(f, Verb::get, config_url, {admin});
    CHECK(gone->status == Status::not_found);
    CHECK(api_error(*gone).error == "not_found");
    CHECK(f.lab.metadata->get_cache("main").value() == std::nullopt);
}

TEST_CASE("attic api: server.public_url names the endpoints whatever the Host", "[attic]") {
    LabFixture f("public_url = \"https://cache.example.org/nix\"\n");
    f.create_cache("main");
    auto reader = f.token({{"main", Permission::pull}});
    auto json = body_json(*attic_call(f, Verb::get, "/_api/v1/cache-config/main", {reader}));
    CHECK(json["api_endpoint"] == "https://cache.example.org/nix/");
    CHECK(json["substituter_endpoint"] == "https://cache.example.org/nix/main");
}

TEST_CASE("attic api: a cache created with an imported keypair signs with it", "[attic]") {
    LabFixture f;
    auto key = lab::generate_signing_key("lab-cache-7");
    REQUIRE(key);
    auto admin = f.token({{"team-*", Permission::create_cache}, {"team-*", Permission::pull}});
    Json request = Json::parse(attic_create_body);
    request["keypair"] = Json{{"Keypair", key->to_string()}};
    request["upstream_cache_key_names"] = Json::array();
    auto created =
        attic_call(f, Verb::post, "/_api/v1/cache-config/team-a", {admin, request.dump()});
    REQUIRE(created);
    CHECK(created->status == Status::ok);
    auto json = body_json(*attic_call(f, Verb::get, "/_api/v1/cache-config/team-a", {admin}));
    CHECK(json["public_key"] == key->public_key().to_string());
    CHECK(json["allow_upstream_references"] == false);

    request["keypair"] = Json{{"Keypair", "lab-cache-7:garbage"}};
    auto bad = attic_call(f, Verb::post, "/_api/v1/cache-config/team-b", {admin, request.dump()});
    CHECK(bad->status == Status::bad_request);
    CHECK(attic_call(f, Verb::post, "/_api/v1/cache-config/team-c", {admin, "not json"})->status ==
          Status::bad_request);
    CHECK(f.lab.metadata->get_cache("team-b").value() == std::nullopt);
}

TEST_CASE("attic api: get-missing-paths answers what the cache lacks, for a pusher only",
          "[attic]") {
    LabFixture f;
    f.create_cache("main");
    auto pusher = f.token({{"main", Permission::push}, {"main", Permission::pull}});
    auto present = path_named("present");
    auto nar = file_nar("here");
    REQUIRE(upload(f, pusher, upload_info("main", present, nar), nar)->status == Status::ok);
    auto absent = path_named("absent");

    auto ask = [&](const std::string& token, const std::string& body) {
        auto result = attic_call(f, Verb::post, "/_api/v1/get-missing-paths",
                                 {token, body, {{"Content-Type", "application/json"}}});
        REQUIRE(result);
        return *result;
    };
    auto request = lab::attic::serialize(lab::attic::GetMissingPathsRequest{
        "main", {present.hash, absent.hash, absent.hash, present.hash}});
    auto answer = ask(pusher, request);
    REQUIRE(answer.status == Status::ok);
    auto missing = lab::attic::parse_get_missing_paths_response(answer.body);
    REQUIRE(missing);
    CHECK(missing->missing_paths == std::vector<std::string>{absent.hash});

    CHECK(ask({}, request).status == Status::unauthorized);
    // Probing contents needs push, as in Attic.
    CHECK(ask(f.token({{"main", Permission::pull}}), request).status == Status::forbidden);
    CHECK(ask(pusher, R"({"cache":"main","store_path_hashes":["../etc"]})").status ==
          Status::bad_request);
    auto everywhere = f.token({{"*", Permission::push}});
    auto unknown = ask(everywhere, R"({"cache":"nope","store_path_hashes":[]})");
    CHECK(unknown.status == Status::not_found);
    CHECK(api_error(unknown).error == "not_found");
}

TEST_CASE("attic api: upload-path publishes a signed path, then deduplicates it", "[attic]") {
    LabFixture f;
    auto cache = f.create_cache("main");
    auto pusher = f.token({{"main", Permission::push}, {"main", Permission::pull}});
    auto dependency = path_named("dep");
    auto dep_nar = file_nar("a dependency");
    auto path = path_named("app");
    std::string contents(3 << 20, 'x');
    for (std::size_t i = 0; i < contents.size(); i += 7)
        contents[i] = static_cast<char>('a' + i % 23);
    auto nar = file_nar(contents);

    auto first = upload(f, pusher, upload_info("main", dependency, dep_nar), dep_nar);
    REQUIRE(first);
    REQUIRE(first->status == Status::ok);
    auto uploaded = upload(f, pusher, upload_info("main", path, nar, {dependency}), nar);
    REQUIRE(uploaded);
    REQUIRE(uploaded->status == Status::ok);
    CHECK(uploaded->headers[boost::beast::http::field::content_type] == "application/json");
    auto result = lab::attic::parse_upload_path_result(uploaded->body);
    REQUIRE(result);
    CHECK(result->kind == lab::attic::UploadKind::uploaded);
    CHECK(body_json(*uploaded)["frac_deduplicated"] == 0.0);

    auto narinfo = parse_narinfo(narinfo_of(f, "main", pusher, path));
    REQUIRE(narinfo);
    CHECK(narinfo->file_size == result->file_size);
    CHECK(narinfo->references == std::vector<StorePath>{dependency});
    CHECK(narinfo->nar_size == nar.size());
    REQUIRE(narinfo->signatures.size() == 1);
    CHECK(narinfo->signatures[0].starts_with("main-1:"));
    CHECK(served_nar(f, "main", pusher, path) == nar);

    // The same path again, and the same NAR under another path.
    auto again = upload(f, pusher, upload_info("main", path, nar, {dependency}), nar);
    REQUIRE(again);
    CHECK(again->status == Status::ok);
    CHECK(lab::attic::parse_upload_path_result(again->body)->kind ==
          lab::attic::UploadKind::deduplicated);
    auto twin = path_named("app-twin");
    auto copy = upload(f, pusher, upload_info("main", twin, nar, {dependency}), nar);
    REQUIRE(copy);
    CHECK(copy->status == Status::ok);
    auto twin_result = body_json(*copy);
    CHECK(twin_result["kind"] == "Deduplicated");
    CHECK(twin_result["frac_deduplicated"] == 1.0);
    CHECK(twin_result["file_size"] == result->file_size.value());
    CHECK(f.metrics->render().find("nixedge_paths_published_total 3") != std::string::npos);
}

TEST_CASE("attic api: upload-path takes the info as a body preamble, with or without a length",
          "[attic]") {
    LabFixture f;
    f.create_cache("main");
    auto pusher = f.token({{"main", Permission::push}, {"main", Permission::pull}});
    // Enough references for Attic's client to move the info into the body (>= 4 KiB).
    std::vector<StorePath> references;
    for (int i = 0; i < 60; ++i) {
        auto reference = path_named("reference-with-a-rather-long-name-" + std::to_string(i));
        auto ref_nar = file_nar("reference " + std::to_string(i));
        REQUIRE(upload(f, pusher, upload_info("main", reference, ref_nar), ref_nar)->status ==
                Status::ok);
        references.push_back(reference);
    }
    auto path = path_named("big-info");
    auto nar = file_nar("preamble first");
    auto info = upload_info("main", path, nar, references);
    REQUIRE(lab::attic::serialize(info).size() >= lab::attic::nar_info_preamble_threshold);
    for (bool chunked : {false, true}) {
        auto uploaded = upload(f, pusher, info, nar, InfoIn::preamble, chunked);
        REQUIRE(uploaded);
        CHECK(uploaded->status == Status::ok);
    }
    auto narinfo = parse_narinfo(narinfo_of(f, "main", pusher, path));
    REQUIRE(narinfo);
    CHECK(narinfo->references.size() == references.size());
    CHECK(served_nar(f, "main", pusher, path) == nar);
}

TEST_CASE("attic api: upload-path refuses bad info and bad NARs and publishes nothing", "[attic]") {
    LabFixture f;
    f.create_cache("main");
    auto pusher = f.token({{"main", Permission::push}, {"main", Permission::pull}});
    auto path = path_named("refused");
    auto nar = file_nar("the real contents");
    auto refused = [&](const lab::http::testing::CallResult& result, std::string_view words) {
        CHECK(result.status == Status::bad_request);
        auto error = api_error(result);
        CHECK(error.message.find(words) != std::string::npos);
        CHECK(narinfo_of(f, "main", pusher, path).empty());
    };

    auto wrong_hash = upload_info("main", path, nar);
    wrong_hash.nar_hash.digest = Sha256::digest(as_bytes(std::string_view("other")));
    refused(*upload(f, pusher, wrong_hash, nar), "NAR hash");
    auto wrong_size = upload_info("main", path, nar);
    wrong_size.nar_size += 1;
    // Known length: refused before a byte of the NAR is read.
    auto early = upload(f, pusher, wrong_size, nar, InfoIn::header, false);
    refused(*early, "nar_size");
    CHECK(early->body_bytes_read == 0);
    refused(*upload(f, pusher, wrong_size, nar), "NAR size");
    refused(*upload(f, pusher, upload_info("main", path, nar), "not a NAR at all"), "NAR");
    auto other_hash = upload_info("main", path, nar);
    other_hash.store_path_hash = path_named("someone-else").hash;
    refused(*upload(f, pusher, other_hash, nar), "does not have the hash");
    auto injected = upload_info("main", path, nar);
    injected.system = "x86_64-linux\nSig: other-1:forged";
    refused(*upload(f, pusher, injected, nar), "valid narinfo");
    auto bad_reference = upload_info("main", path, nar);
    bad_reference.references = {"/tmp/not-a-store-path"};
    refused(*upload(f, pusher, bad_reference, nar), "references");

    auto no_info = attic_call(f, Verb::put, "/_api/v1/upload-path", {pusher, nar});
    refused(*no_info, "X-Attic-Nar-Info");
    auto bad_json = attic_call(f, Verb::put, "/_api/v1/upload-path",
                               {pusher, nar, {{"X-Attic-Nar-Info", "{not json"}}});
    refused(*bad_json, "upload info");
    auto short_preamble =
        attic_call(f, Verb::put, "/_api/v1/upload-path",
                   {pusher, "{}", {{"X-Attic-Nar-Info-Preamble-Size", "100"}}, true});
    refused(*short_preamble, "preamble");
    auto huge_preamble =
        attic_call(f, Verb::put, "/_api/v1/upload-path",
                   {pusher, "{}", {{"X-Attic-Nar-Info-Preamble-Size", "99999999"}}, true});
    CHECK(huge_preamble->status == Status::payload_too_large);

    // Permissions, checked before the NAR is read.
    auto puller = f.token({{"main", Permission::pull}});
    auto forbidden = upload(f, puller, upload_info("main", path, nar), nar, InfoIn::header, false);
    CHECK(forbidden->status == Status::forbidden);
    CHECK(forbidden->body_bytes_read == 0);
    CHECK(upload(f, {}, upload_info("main", path, nar), nar)->status == Status::unauthorized);
    CHECK(upload(f, pusher, upload_info("other", path, nar), nar)->status == Status::unauthorized);
    CHECK(narinfo_of(f, "main", pusher, path).empty());
}

TEST_CASE("attic api: a path uploaded before its references is held until they are published",
          "[attic]") {
    LabFixture f;
    f.create_cache("main"); // references must be in the cache
    auto pusher = f.token({{"main", Permission::push}, {"main", Permission::pull}});
    auto base = path_named("base");
    auto middle = path_named("middle");
    auto top = path_named("top");
    auto base_nar = file_nar("base");
    auto middle_nar = file_nar("middle");
    auto top_nar = file_nar("top");

    // Top first, then middle: both held, nothing served.
    for (const auto& [path, nar, refs] :
         {std::tuple{top, top_nar, std::vector<StorePath>{middle, base}},
          std::tuple{middle, middle_nar, std::vector<StorePath>{base}}}) {
        auto held = upload(f, pusher, upload_info("main", path, nar, refs), nar);
        REQUIRE(held);
        CHECK(held->status == Status::ok);
        CHECK(narinfo_of(f, "main", pusher, path).empty());
    }
    CHECK(f.lab.metadata->held_paths("main")->size() == 2);
    auto missing = f.lab.metadata->missing_paths("main", std::vector{top.hash, middle.hash});
    CHECK(missing->size() == 2);

    // The base, pushed by Nix's protocol, releases both.
    REQUIRE(push_path(f, "main", pusher, base, base_nar) == Status::ok);
    CHECK_FALSE(narinfo_of(f, "main", pusher, middle).empty());
    CHECK_FALSE(narinfo_of(f, "main", pusher, top).empty());
    CHECK(served_nar(f, "main", pusher, top) == top_nar);
    CHECK(f.lab.metadata->held_paths("main")->empty());

    // A hold whose reference never comes expires with the staged uploads.
    auto orphan = path_named("orphan");
    auto orphan_nar = file_nar("orphan");
    REQUIRE(upload(f, pusher, upload_info("main", orphan, orphan_nar, {path_named("never")}),
                   orphan_nar)
                ->status == Status::ok);
    CHECK(f.lab.metadata->held_paths("main")->size() == 1);
    CHECK(f.lab.metadata->expire_staged(lab::system_clock_now() + 365 * 86400).value() == 1);
    CHECK(f.lab.metadata->held_paths("main")->empty());
    CHECK(narinfo_of(f, "main", pusher, orphan).empty());
}
