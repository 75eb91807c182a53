#include "attic/api_types.hpp"

#include "nixedge/encoding.hpp"
#include "nixedge/store_path.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace nixedge::lab::attic {
namespace {

using Json = nlohmann::json;

Error bad(std::string why) {
    return make_error(ErrorCode::invalid_argument, std::move(why));
}

Result<Json> parse_object(std::string_view text, std::string_view what) {
    auto json = Json::parse(text, nullptr, false);
    if (json.is_discarded())
        return bad(std::string(what) + " is not valid JSON");
    if (!json.is_object())
        return bad(std::string(what) + " is not a JSON object");
    return json;
}

std::string dump(const Json& json) {
    return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A field that must be there.
Result<const Json*> required(const Json& object, const char* name) {
    auto found = object.find(name);
    if (found == object.end())
        return bad(std::string("missing field '") + name + "'");
    return &*found;
}

Result<std::string> string_value(const Json& value, const char* name) {
    if (!value.is_string())
        return bad(std::string("'") + name + "' is not a string");
    return value.get<std::string>();
}

Result<std::string> required_string(const Json& object, const char* name) {
    auto value = required(object, name);
    if (!value)
        return value.error();
    return string_value(**value, name);
}

// Absent or null: nullopt, as serde reads an Option.
Result<std::optional<std::string>> optional_string(const Json& object, const char* name) {
    auto found = object.find(name);
    if (found == object.end() || found->is_null())
        return std::optional<std::string>();
    auto value = string_value(*found, name);
    if (!value)
        return value.error();
    return std::optional<std::string>(std::move(*value));
}

Result<std::vector<std::string>> string_list(const Json& value, const char* name) {
    if (!value.is_array())
        return bad(std::string("'") + name + "' is not a list");
    std::vector<std::string> list;
    list.reserve(value.size());
    for (const auto& item : value) {
        if (!item.is_string())
            return bad(std::string("'") + name + "' holds something other than strings");
        list.push_back(item.get<std::string>());
    }
    return list;
}

Result<std::vector<std::string>> required_string_list(const Json& object, const char* name) {
    auto value = required(object, name);
    if (!value)
        return value.error();
    return string_list(**value, name);
}

Result<std::optional<std::vector<std::string>>> optional_string_list(const Json& object,
                                                                     const char* name) {
    auto found = object.find(name);
    if (found == object.end() || found->is_null())
        return std::optional<std::vector<std::string>>();
    auto list = string_list(*found, name);
    if (!list)
        return list.error();
    return std::optional<std::vector<std::string>>(std::move(*list));
}

Result<std::optional<bool>> optional_bool(const Json& object, const char* name) {
    auto found = object.find(name);
    if (found == object.end() || found->is_null())
        return std::optional<bool>();
    if (!found->is_boolean())
        return bad(std::string("'") + name + "' is not true or false");
    return std::optional<bool>(found->get<bool>());
}

Result<std::optional<std::int32_t>> optional_i32(const Json& object, const char* name) {
    auto found = object.find(name);
    if (found == object.end() || found->is_null())
        return std::optional<std::int32_t>();
    if (!found->is_number_integer())
        return bad(std::string("'") + name + "' is not an integer");
    auto value = found->get<std::int64_t>();
    if (found->is_number_unsigned() && found->get<std::uint64_t>() > INT32_MAX)
        return bad(std::string("'") + name + "' is out of range");
    if (value < INT32_MIN || value > INT32_MAX)
        return bad(std::string("'") + name + "' is out of range");
    return std::optional<std::int32_t>(static_cast<std::int32_t>(value));
}

Result<std::uint64_t> required_u64(const Json& object, const char* name) {
    auto value = required(object, name);
    if (!value)
        return value.error();
    if (!(*value)->is_number_unsigned())
        return bad(std::string("'") + name + "' is not a non-negative integer");
    return (*value)->get<std::uint64_t>();
}

// The first failure among several parsed fields, if any.
template <class... Results> const Error* first_error(const Results&... results) {
    const Error* found = nullptr;
    ((found = found != nullptr || results ? found : &results.error()), ...);
    return found;
}

Json optional_json(const std::optional<std::string>& value) {
    return value ? Json(*value) : Json(nullptr);
}

Result<void> check_store_hash(const std::string& hash) {
    if (auto ok = validate_store_hash(hash); !ok)
        return bad("'" + hash + "' is not a store path hash: " + ok.error().detail);
    return {};
}

Result<std::vector<std::string>> store_hash_list(const Json& object, const char* name) {
    auto list = required_string_list(object, name);
    if (!list)
        return list.error();
    for (const auto& hash : *list)
        if (auto ok = check_store_hash(hash); !ok)
            return ok.error();
    return list;
}

// ---- enums, externally tagged as serde writes them --------------------------

Result<KeypairConfig> parse_keypair(const Json& value) {
    if (value.is_string() && value.get<std::string>() == "Generate")
        return KeypairConfig{};
    if (value.is_object() && value.size() == 1 && value.contains("Keypair")) {
        const auto& key = value["Keypair"];
        if (!key.is_string())
            return bad("'keypair': Keypair is not a string");
        return KeypairConfig{false, key.get<std::string>()};
    }
    return bad(R"('keypair' is neither "Generate" nor {"Keypair": "<name>:<base64>"})");
}

Json keypair_json(const KeypairConfig& keypair) {
    if (keypair.generate)
        return "Generate";
    return Json{{"Keypair", keypair.secret_key}};
}

Result<RetentionPeriodConfig> parse_retention(const Json& value) {
    if (value.is_string() && value.get<std::string>() == "Global")
        return RetentionPeriodConfig{};
    if (value.is_object() && value.size() == 1 && value.contains("Period")) {
        const auto& period = value["Period"];
        if (!period.is_number_unsigned() ||
            period.get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max())
            return bad("'retention_period': Period is not a number of seconds (0..2^32-1)");
        return RetentionPeriodConfig{false,
                                     static_cast<std::uint32_t>(period.get<std::uint64_t>())};
    }
    return bad(R"('retention_period' is neither "Global" nor {"Period": <seconds>})");
}

Json retention_json(const RetentionPeriodConfig& retention) {
    if (retention.global)
        return "Global";
    return Json{{"Period", retention.seconds}};
}

} // namespace

// ---- get-missing-paths -----------------------------------------------------------

Result<GetMissingPathsRequest> parse_get_missing_paths_request(std::string_view text) {
    auto json = parse_object(text, "the request");
    if (!json)
        return json.error();
    auto cache = required_string(*json, "cache");
    if (!cache)
        return cache.error();
    auto hashes = store_hash_list(*json, "store_path_hashes");
    if (!hashes)
        return hashes.error();
    return GetMissingPathsRequest{std::move(*cache), std::move(*hashes)};
}

std::string serialize(const GetMissingPathsRequest& request) {
    return dump(Json{{"cache", request.cache}, {"store_path_hashes", request.store_path_hashes}});
}

Result<GetMissingPathsResponse> parse_get_missing_paths_response(std::string_view text) {
    auto json = parse_object(text, "the response");
    if (!json)
        return json.error();
    auto missing = store_hash_list(*json, "missing_paths");
    if (!missing)
        return missing.error();
    return GetMissingPathsResponse{std::move(*missing)};
}

std::string serialize(const GetMissingPathsResponse& response) {
    return dump(Json{{"missing_paths", response.missing_paths}});
}

// ---- upload-path -------------------------------------------------------------------

Result<UploadPathInfo> parse_upload_path_info(std::string_view text) {
    auto json = parse_object(text, "the upload info");
    if (!json)
        return json.error();
    UploadPathInfo info;
    auto cache = required_string(*json, "cache");
    auto hash = required_string(*json, "store_path_hash");
    auto path = required_string(*json, "store_path");
    auto references = required_string_list(*json, "references");
    auto system = optional_string(*json, "system");
    auto deriver = optional_string(*json, "deriver");
    auto sigs = required_string_list(*json, "sigs");
    auto ca = optional_string(*json, "ca");
    auto nar_hash = required_string(*json, "nar_hash");
    auto nar_size = required_u64(*json, "nar_size");
    if (const auto* error = first_error(cache, hash, path, references, system, deriver, sigs, ca,
                                        nar_hash, nar_size))
        return *error;
    if (auto ok = check_store_hash(*hash); !ok)
        return ok.error();
    auto parsed_hash = parse_nix_hash(*nar_hash);
    if (!parsed_hash)
        return bad("'nar_hash': " + parsed_hash.error().detail);
    info.cache = std::move(*cache);
    info.store_path_hash = std::move(*hash);
    info.store_path = std::move(*path);
    info.references = std::move(*references);
    info.system = std::move(*system);
    info.deriver = std::move(*deriver);
    info.sigs = std::move(*sigs);
    info.ca = std::move(*ca);
    info.nar_hash = *parsed_hash;
    info.nar_size = *nar_size;
    return info;
}

std::string serialize(const UploadPathInfo& info) {
    Json json = {
        {"cache", info.cache},
        {"store_path_hash", info.store_path_hash},
        {"store_path", info.store_path},
        {"references", info.references},
        {"system", optional_json(info.system)},
        {"deriver", optional_json(info.deriver)},
        {"sigs", info.sigs},
        {"ca", optional_json(info.ca)},
        {"nar_hash", "sha256:" + encoding::to_hex(info.nar_hash.digest)},
        {"nar_size", info.nar_size},
    };
    return dump(json);
}

Result<NarInfo> to_narinfo(const UploadPathInfo& info) {
    auto path = parse_store_path(info.store_path);
    if (!path)
        return bad("'store_path': " + path.error().detail);
    if (path->hash != info.store_path_hash)
        return bad("'store_path' " + info.store_path + " does not have the hash '" +
                   info.store_path_hash + "'");
    NarInfo narinfo;
    narinfo.store_path = std::move(*path);
    for (const auto& reference : info.references) {
        auto parsed = parse_store_path(reference);
        if (!parsed)
            return bad("'references': " + parsed.error().detail);
        narinfo.references.push_back(std::move(*parsed));
    }
    // Nix's set: sorted, once each (std::ranges::unique does not build with clang 14).
    std::sort(narinfo.references.begin(), narinfo.references.end());
    narinfo.references.erase(std::unique(narinfo.references.begin(), narinfo.references.end()),
                             narinfo.references.end());
    if (info.deriver && !info.deriver->empty()) {
        auto deriver = parse_store_path(*info.deriver);
        if (!deriver)
            return bad("'deriver': " + deriver.error().detail);
        narinfo.deriver = std::move(*deriver);
    }
    narinfo.system = info.system.value_or("");
    narinfo.ca = info.ca.value_or("");
    narinfo.nar_hash = info.nar_hash;
    narinfo.nar_size = info.nar_size;
    narinfo.compression = "zstd";
    // Free text (system, ca) goes into a line-based format: what would not
    // read back the same (a newline in `system`, say) is refused here.
    NarInfo written = narinfo;
    written.url = "nar/check.nar.zst";
    auto read_back = parse_narinfo(serialize_narinfo(written));
    if (!read_back || *read_back != written)
        return bad("the path info does not make a valid narinfo" +
                   (read_back ? std::string() : ": " + read_back.error().detail));
    return narinfo;
}

Result<UploadPathResult> parse_upload_path_result(std::string_view text) {
    auto json = parse_object(text, "the upload result");
    if (!json)
        return json.error();
    UploadPathResult result;
    auto kind = json->find("kind");
    if (kind != json->end() && kind->is_string() && kind->get<std::string>() == "Deduplicated")
        result.kind = UploadKind::deduplicated;
    if (auto size = json->find("file_size"); size != json->end() && size->is_number_unsigned())
        result.file_size = size->get<std::uint64_t>();
    if (auto frac = json->find("frac_deduplicated"); frac != json->end() && frac->is_number())
        result.frac_deduplicated = frac->get<double>();
    return result;
}

std::string serialize(const UploadPathResult& result) {
    Json json = {{"kind", result.kind == UploadKind::deduplicated ? "Deduplicated" : "Uploaded"}};
    if (result.file_size)
        json["file_size"] = *result.file_size;
    json["frac_deduplicated"] = result.frac_deduplicated && std::isfinite(*result.frac_deduplicated)
                                    ? Json(*result.frac_deduplicated)
                                    : Json(nullptr);
    return dump(json);
}

// ---- cache-config -------------------------------------------------------------------

Result<CreateCacheRequest> parse_create_cache_request(std::string_view text) {
    auto json = parse_object(text, "the request");
    if (!json)
        return json.error();
    CreateCacheRequest request;
    if (auto found = json->find("keypair"); found != json->end()) {
        auto keypair = parse_keypair(*found);
        if (!keypair)
            return keypair.error();
        request.keypair = std::move(*keypair);
    }
    auto is_public = optional_bool(*json, "is_public");
    auto store_dir = optional_string(*json, "store_dir");
    auto priority = optional_i32(*json, "priority");
    auto upstream = optional_string_list(*json, "upstream_cache_key_names");
    if (const auto* error = first_error(is_public, store_dir, priority, upstream))
        return *error;
    request.is_public = is_public->value_or(request.is_public);
    request.store_dir = store_dir->value_or(request.store_dir);
    request.priority = priority->value_or(request.priority);
    request.upstream_cache_key_names =
        upstream->value_or(std::move(request.upstream_cache_key_names));
    return request;
}

std::string serialize(const CreateCacheRequest& request) {
    return dump(Json{
        {"keypair", keypair_json(request.keypair)},
        {"is_public", request.is_public},
        {"store_dir", request.store_dir},
        {"priority", request.priority},
        {"upstream_cache_key_names", request.upstream_cache_key_names},
    });
}

Result<CacheConfig> parse_cache_config(std::string_view text) {
    auto json = parse_object(text, "the cache configuration");
    if (!json)
        return json.error();
    CacheConfig config;
    if (auto found = json->find("keypair"); found != json->end() && !found->is_null()) {
        auto keypair = parse_keypair(*found);
        if (!keypair)
            return keypair.error();
        config.keypair = std::move(*keypair);
    }
    if (auto found = json->find("retention_period"); found != json->end() && !found->is_null()) {
        auto retention = parse_retention(*found);
        if (!retention)
            return retention.error();
        config.retention_period = *retention;
    }
    auto substituter = optional_string(*json, "substituter_endpoint");
    auto api = optional_string(*json, "api_endpoint");
    auto public_key = optional_string(*json, "public_key");
    auto is_public = optional_bool(*json, "is_public");
    auto store_dir = optional_string(*json, "store_dir");
    auto priority = optional_i32(*json, "priority");
    auto upstream = optional_string_list(*json, "upstream_cache_key_names");
    auto edge = optional_bool(*json, "edge_enabled");
    auto upstream_references = optional_bool(*json, "allow_upstream_references");
    if (const auto* error = first_error(substituter, api, public_key, is_public, store_dir,
                                        priority, upstream, edge, upstream_references))
        return *error;
    config.substituter_endpoint = std::move(*substituter);
    config.api_endpoint = std::move(*api);
    config.public_key = std::move(*public_key);
    config.is_public = *is_public;
    config.store_dir = std::move(*store_dir);
    config.priority = *priority;
    config.upstream_cache_key_names = std::move(*upstream);
    config.edge_enabled = *edge;
    config.allow_upstream_references = *upstream_references;
    return config;
}

std::string serialize(const CacheConfig& config) {
    // Attic leaves out the fields that are None.
    Json json = Json::object();
    if (config.keypair)
        json["keypair"] = keypair_json(*config.keypair);
    if (config.substituter_endpoint)
        json["substituter_endpoint"] = *config.substituter_endpoint;
    if (config.api_endpoint)
        json["api_endpoint"] = *config.api_endpoint;
    if (config.public_key)
        json["public_key"] = *config.public_key;
    if (config.is_public)
        json["is_public"] = *config.is_public;
    if (config.store_dir)
        json["store_dir"] = *config.store_dir;
    if (config.priority)
        json["priority"] = *config.priority;
    if (config.upstream_cache_key_names)
        json["upstream_cache_key_names"] = *config.upstream_cache_key_names;
    if (config.retention_period)
        json["retention_period"] = retention_json(*config.retention_period);
    if (config.edge_enabled)
        json["edge_enabled"] = *config.edge_enabled;
    if (config.allow_upstream_references)
        json["allow_upstream_references"] = *config.allow_upstream_references;
    return dump(json);
}

// ---- errors ---------------------------------------------------------------------------

std::optional<ApiError> parse_api_error(std::string_view text) {
    auto json = Json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object())
        return std::nullopt;
    auto code = json.find("code");
    auto error = json.find("error");
    auto message = json.find("message");
    if (code == json.end() || !code->is_number_unsigned() || code->get<std::uint64_t>() > 0xffff ||
        error == json.end() || !error->is_string() || message == json.end() ||
        !message->is_string())
        return std::nullopt;
    return ApiError{static_cast<std::uint16_t>(code->get<std::uint64_t>()),
                    error->get<std::string>(), message->get<std::string>()};
}

} // namespace nixedge::lab::attic
