#include "client/api_client.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace nixedge::lab::client {
namespace {

ErrorCode code_for_status(long status) {
    switch (status) {
    case 400:
        return ErrorCode::invalid_argument;
    case 401:
        return ErrorCode::unauthorized;
    case 403:
        return ErrorCode::forbidden;
    case 404:
        return ErrorCode::not_found;
    case 409:
        return ErrorCode::conflict;
    case 413:
        return ErrorCode::limit_exceeded;
    case 503:
        return ErrorCode::storage_unavailable;
    default:
        return ErrorCode::internal;
    }
}

// What the user can do about it, after the server's own words.
std::string hint_for(long status, bool had_token) {
    switch (status) {
    case 401:
        return had_token ? " (the token was refused, or grants nothing on this cache: log in "
                           "again with a valid token)"
                         : " (this cache is not public: log in with a token)";
    case 403:
        return " (the token lacks the permission this needs)";
    case 503:
        return " (the server's storage or database is unavailable: try again later)";
    default:
        return "";
    }
}

bool is_success(long status) {
    return status >= 200 && status < 300;
}

std::string cache_config_path(std::string_view cache) {
    return "_api/v1/cache-config/" + std::string(cache);
}

std::string cache_named(std::string_view cache) {
    return "cache '" + std::string(cache) + "'";
}

} // namespace

Error error_from_response(const HttpResponse& response, std::string_view what, bool had_token) {
    std::string said;
    if (auto api = attic::parse_api_error(response.body))
        said = api->error + ": " + api->message;
    else
        said = "HTTP " + std::to_string(response.status);
    return make_error(code_for_status(response.status),
                      std::string(what) + ": " + said + hint_for(response.status, had_token));
}

ApiClient::ApiClient(const ServerEntry& server)
    : http_(server.endpoint, server.token), has_token_(!server.token.empty()) {}

Result<HttpResponse> ApiClient::call(std::string_view method, std::string_view path,
                                     std::string_view what, const std::string& body) {
    auto response = http_.request(method, path, body);
    if (!response)
        return response.error();
    if (!is_success(response->status))
        return error_from_response(*response, what, has_token_);
    return response;
}

Result<attic::CacheConfig> ApiClient::get_cache_config(std::string_view cache) {
    auto response = call("GET", cache_config_path(cache), cache_named(cache));
    if (!response)
        return response.error();
    return attic::parse_cache_config(response->body);
}

Result<void> ApiClient::create_cache(std::string_view cache,
                                     const attic::CreateCacheRequest& request) {
    auto response = call("POST", cache_config_path(cache), "creating " + cache_named(cache),
                         attic::serialize(request));
    if (!response)
        return response.error();
    return {};
}

Result<void> ApiClient::configure_cache(std::string_view cache, const attic::CacheConfig& changes) {
    auto response = call("PATCH", cache_config_path(cache), "configuring " + cache_named(cache),
                         attic::serialize(changes));
    if (!response)
        return response.error();
    return {};
}

Result<void> ApiClient::destroy_cache(std::string_view cache) {
    auto response = call("DELETE", cache_config_path(cache), "destroying " + cache_named(cache));
    if (!response)
        return response.error();
    return {};
}

Result<std::vector<std::string>>
ApiClient::get_missing_paths(std::string_view cache, const std::vector<std::string>& hashes) {
    attic::GetMissingPathsRequest request{std::string(cache), hashes};
    auto response =
        call("POST", "_api/v1/get-missing-paths", "asking " + cache_named(cache) + " what it lacks",
             attic::serialize(request));
    if (!response)
        return response.error();
    auto parsed = attic::parse_get_missing_paths_response(response->body);
    if (!parsed)
        return parsed.error();
    return std::move(parsed->missing_paths);
}

namespace {

// The preamble (the info JSON) first, then the NAR.
class PreambleThenNar final : public BodySource {
  public:
    PreambleThenNar(const std::string& preamble, BodySource& nar)
        : preamble_(preamble), nar_(nar) {}
    Result<std::size_t> fill(std::span<std::byte> buffer) override {
        if (offset_ < preamble_.size()) {
            std::size_t n = std::min(buffer.size(), preamble_.size() - offset_);
            std::memcpy(buffer.data(), preamble_.data() + offset_, n);
            offset_ += n;
            return n;
        }
        return nar_.fill(buffer);
    }

  private:
    const std::string& preamble_;
    BodySource& nar_;
    std::size_t offset_ = 0;
};

} // namespace

Result<attic::UploadPathResult>
ApiClient::upload_path(const attic::UploadPathInfo& info, BodySource& nar, bool force_preamble,
                       const std::function<void(std::uint64_t)>& sent) {
    std::string json = attic::serialize(info);
    std::vector<std::string> headers{"Content-Type: application/x-nix-nar"};
    std::uint64_t length = info.nar_size;
    bool preamble = force_preamble || json.size() >= attic::nar_info_preamble_threshold;
    PreambleThenNar with_preamble(json, nar);
    BodySource* body = &nar;
    if (preamble) {
        headers.push_back(std::string(attic::nar_info_preamble_size_header) + ": " +
                          std::to_string(json.size()));
        length += json.size();
        body = &with_preamble;
    } else {
        headers.push_back(std::string(attic::nar_info_header) + ": " + json);
    }
    std::function<void(std::uint64_t)> nar_sent;
    if (sent) {
        std::uint64_t skip = preamble ? json.size() : 0;
        nar_sent = [&sent, skip](std::uint64_t bytes) { sent(bytes > skip ? bytes - skip : 0); };
    }
    auto response = http_.upload("_api/v1/upload-path", headers, *body, length, nar_sent);
    if (!response)
        return response.error();
    if (!is_success(response->status))
        return error_from_response(*response, "upload of " + info.store_path, has_token_);
    return attic::parse_upload_path_result(response->body);
}

} // namespace nixedge::lab::client
