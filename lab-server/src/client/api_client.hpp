// Attic's /_api/v1 as the `nixedge` client calls it, over HttpClient, with
// the wire types of attic/api_types.hpp. Every refusal becomes an Error whose
// code says what happened (unauthorized: the token; forbidden: a missing
// permission; not_found: no such cache; unreachable: no answer at all) and
// whose detail is the server's own message, ready to print.
#pragma once

#include "attic/api_types.hpp"
#include "client/client_config.hpp"
#include "client/http_client.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::client {

class ApiClient {
  public:
    explicit ApiClient(const ServerEntry& server);

    Result<attic::CacheConfig> get_cache_config(std::string_view cache);
    Result<void> create_cache(std::string_view cache, const attic::CreateCacheRequest& request);
    Result<void> configure_cache(std::string_view cache, const attic::CacheConfig& changes);
    Result<void> destroy_cache(std::string_view cache);

    // The hashes the cache lacks, in one request (callers batch).
    Result<std::vector<std::string>> get_missing_paths(std::string_view cache,
                                                       const std::vector<std::string>& hashes);

    // One path: its info (as a header, or as a body preamble when large or
    // `force_preamble`), then its NAR from `nar`, exactly info.nar_size bytes.
    Result<attic::UploadPathResult> upload_path(const attic::UploadPathInfo& info, BodySource& nar,
                                                bool force_preamble,
                                                const std::function<void(std::uint64_t)>& sent);

    const std::string& endpoint() const { return http_.endpoint(); }

  private:
    // `what` names the request in errors: "cache 'main'".
    Result<HttpResponse> call(std::string_view method, std::string_view path, std::string_view what,
                              const std::string& body = {});
    HttpClient http_;
    bool has_token_ = false;
};

// The Error for an HTTP answer that is not a success: Attic's error body when
// there is one, else the status line. `what` names the request ("cache main").
Error error_from_response(const HttpResponse& response, std::string_view what, bool had_token);

} // namespace nixedge::lab::client
