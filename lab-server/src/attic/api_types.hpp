// Attic's wire types (attic/src/api/v1 in Attic): the JSON the `attic` CLI and
// `nixedge` send and receive on /_api/v1, written once for the server's
// routes and for the client. Field names, optional fields and enum spellings
// are Attic's (serde's defaults: externally tagged enums, `null` or absent
// for None); parsing is lenient where Attic's is (unknown fields ignored) and
// strict about values (a bad store path hash or NAR hash is an error).
#pragma once

#include "nixedge/narinfo.hpp"
#include "nixedge/nix_hash.hpp"
#include "nixedge/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::attic {

// The upload info goes in this header, as JSON ...
inline constexpr std::string_view nar_info_header = "X-Attic-Nar-Info";
// ... or, when it is large (Attic's client: >= 4 KiB, or always with
// --force-preamble), as the first N bytes of the body, N in this header.
inline constexpr std::string_view nar_info_preamble_size_header = "X-Attic-Nar-Info-Preamble-Size";
inline constexpr std::size_t nar_info_preamble_threshold = 4 * 1024;

inline constexpr std::string_view default_store_dir = "/nix/store";

// ---- POST /_api/v1/get-missing-paths ----------------------------------------

struct GetMissingPathsRequest {
    std::string cache;
    std::vector<std::string> store_path_hashes;
};

struct GetMissingPathsResponse {
    std::vector<std::string> missing_paths;
};

Result<GetMissingPathsRequest> parse_get_missing_paths_request(std::string_view json);
std::string serialize(const GetMissingPathsRequest& request);
Result<GetMissingPathsResponse> parse_get_missing_paths_response(std::string_view json);
std::string serialize(const GetMissingPathsResponse& response);

// ---- PUT /_api/v1/upload-path -------------------------------------------------

// UploadPathNarInfo. The NAR hash is "sha256:<64 hex>" on the wire (Attic's
// typed base16); nix32 and the other spellings Nix accepts are read too.
struct UploadPathInfo {
    std::string cache;
    std::string store_path_hash;
    std::string store_path;              // full path, with the store directory
    std::vector<std::string> references; // full paths
    std::optional<std::string> system;
    std::optional<std::string> deriver; // full path
    std::vector<std::string> sigs;
    std::optional<std::string> ca;
    NixHash nar_hash;
    std::uint64_t nar_size = 0;
};

Result<UploadPathInfo> parse_upload_path_info(std::string_view json);
std::string serialize(const UploadPathInfo& info);

// The path info as a narinfo to publish (no URL yet: the server's NAR gets
// one). invalid_argument when the store path, its hash, a reference or the
// deriver is not a valid path under /nix/store, or when system or ca would
// not read back from a narinfo (a newline, say).
Result<NarInfo> to_narinfo(const UploadPathInfo& info);

enum class UploadKind { uploaded, deduplicated };

struct UploadPathResult {
    UploadKind kind = UploadKind::uploaded;
    std::optional<std::uint64_t> file_size;  // absent when null
    std::optional<double> frac_deduplicated; // 0..1; `null` when unknown
};

// Unknown kinds read as Uploaded (serde's DefaultOnError in Attic's client).
Result<UploadPathResult> parse_upload_path_result(std::string_view json);
std::string serialize(const UploadPathResult& result);

// ---- /_api/v1/cache-config/{cache} -------------------------------------------

// KeypairConfig: "Generate" | {"Keypair": "<name>:<base64 of the 64-byte secret>"}.
struct KeypairConfig {
    bool generate = true;
    std::string secret_key; // when !generate
};

// RetentionPeriodConfig: "Global" | {"Period": <seconds>} (0: never expire).
struct RetentionPeriodConfig {
    bool global = true;
    std::uint32_t seconds = 0; // when !global
};

// POST: every field is required by Attic's server; missing ones take the
// values `attic cache create` sends by default.
struct CreateCacheRequest {
    KeypairConfig keypair;
    bool is_public = false;
    std::string store_dir = std::string(default_store_dir);
    std::int32_t priority = 41;
    std::vector<std::string> upstream_cache_key_names{"cache.nixos.org-1"};
};

// GET answers it filled in; PATCH sends only what changes. The last two
// fields are nixedge's own; Attic's client ignores them.
struct CacheConfig {
    std::optional<KeypairConfig> keypair; // never sent by the server
    std::optional<std::string> substituter_endpoint;
    std::optional<std::string> api_endpoint;
    std::optional<std::string> public_key;
    std::optional<bool> is_public;
    std::optional<std::string> store_dir;
    std::optional<std::int32_t> priority;
    std::optional<std::vector<std::string>> upstream_cache_key_names;
    std::optional<RetentionPeriodConfig> retention_period;
    std::optional<bool> edge_enabled;
    std::optional<bool> allow_upstream_references;
};

Result<CreateCacheRequest> parse_create_cache_request(std::string_view json);
std::string serialize(const CreateCacheRequest& request);
Result<CacheConfig> parse_cache_config(std::string_view json);
std::string serialize(const CacheConfig& config);

// ---- errors ----------------------------------------------------------------------

// Every error body of the API: {"code": <HTTP status>, "error": "<name>", "message": "..."}.
struct ApiError {
    std::uint16_t code = 0;
    std::string error;
    std::string message;
};

// nullopt when the body is not such an object (a proxy's HTML page, say).
std::optional<ApiError> parse_api_error(std::string_view json);

} // namespace nixedge::lab::attic
