// The client's HTTP connection to one server (libcurl): JSON requests and
// streamed uploads. One HttpClient per thread; it keeps its connection open
// between requests. Transport failures (refused, unresolvable, timed out,
// cut) are `unreachable` errors naming the URL; any HTTP answer, error
// statuses included, is a response for the caller (api_client) to read.
#pragma once

#include "nixedge/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::client {

struct HttpResponse {
    long status = 0;
    std::string body; // at most max_response_bytes; the API answers small JSON
};

// Where an upload's body comes from, piece by piece. `fill` writes up to
// `buffer.size()` bytes and returns how many; 0 only at the end.
class BodySource {
  public:
    virtual ~BodySource() = default;
    virtual Result<std::size_t> fill(std::span<std::byte> buffer) = 0;
};

class HttpClient {
  public:
    // `endpoint` ends in '/'; `token` empty for anonymous requests.
    HttpClient(std::string endpoint, std::string token);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // method GET, POST, PATCH, DELETE; `path` relative to the endpoint
    // ("_api/v1/cache-config/main"); a non-empty body is sent as JSON.
    Result<HttpResponse> request(std::string_view method, std::string_view path,
                                 const std::string& json_body = {});

    // A PUT of `content_length` bytes read from `source`, with extra headers
    // ("Name: value"). `sent` is called with the bytes handed over so far.
    Result<HttpResponse> upload(std::string_view path, const std::vector<std::string>& headers,
                                BodySource& source, std::uint64_t content_length,
                                const std::function<void(std::uint64_t)>& sent = {});

    const std::string& endpoint() const { return endpoint_; }

    static constexpr std::size_t max_response_bytes = 1 << 20;

  private:
    struct Handle;
    struct Transfer;
    // The easy handle, reset and set up for a request to `path`.
    Result<void*> begin(Transfer& transfer, std::string_view path);
    std::string endpoint_;
    std::string token_;
    std::unique_ptr<Handle> handle_;
};

} // namespace nixedge::lab::client
