#include "client/http_client.hpp"

#include <curl/curl.h>

#include <mutex>
#include <optional>

namespace nixedge::lab::client {
namespace {

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

constexpr long connect_timeout_seconds = 20;
// A server that moves no byte for this long is treated as gone. Generous:
// the end of a large upload waits for its last chunks to be stored.
constexpr long stall_timeout_seconds = 300;
constexpr long upload_buffer_bytes = 2 * 1024 * 1024; // libcurl's maximum

struct ResponseSink {
    std::string body;
};

std::size_t keep_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* sink = static_cast<ResponseSink*>(user);
    std::size_t bytes = size * count;
    std::size_t room = HttpClient::max_response_bytes -
                       std::min(sink->body.size(), HttpClient::max_response_bytes);
    sink->body.append(data, std::min(bytes, room));
    return bytes;
}

struct UploadState {
    BodySource* source = nullptr;
    std::optional<Error> failure;
    std::uint64_t sent = 0;
    const std::function<void(std::uint64_t)>* progress = nullptr;
};

std::size_t read_body(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* state = static_cast<UploadState*>(user);
    auto filled =
        state->source->fill(std::span(reinterpret_cast<std::byte*>(buffer), size * count));
    if (!filled) {
        state->failure = filled.error();
        return CURL_READFUNC_ABORT;
    }
    state->sent += *filled;
    if (*state->progress)
        (*state->progress)(state->sent);
    return *filled;
}

struct HeaderList {
    curl_slist* list = nullptr;
    ~HeaderList() { curl_slist_free_all(list); }
    void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

} // namespace

struct HttpClient::Handle {
    CURL* curl = nullptr;
    Handle() : curl(curl_easy_init()) {}
    ~Handle() {
        if (curl != nullptr)
            curl_easy_cleanup(curl);
    }
};

HttpClient::HttpClient(std::string endpoint, std::string token)
    : endpoint_(std::move(endpoint)), token_(std::move(token)) {
    init_curl_once();
    handle_ = std::make_unique<Handle>();
}

HttpClient::~HttpClient() = default;

namespace {

// What every request shares; `headers` must outlive the transfer.
void prepare(CURL* curl, const std::string& url, HeaderList& headers, const std::string& token,
             ResponseSink& sink, char* error_buffer) {
    curl_easy_reset(curl);
    if (!token.empty())
        headers.add("Authorization: Bearer " + token);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, connect_timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall_timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "nixedge");
}

Result<HttpResponse> finish(CURL* curl, CURLcode code, const std::string& url,
                            const char* error_buffer, ResponseSink& sink) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    // A server that refuses an upload answers before it has read the body and
    // may close the connection while curl still sends: its answer counts.
    if (code != CURLE_OK && !(status >= 400 && !sink.body.empty())) {
        std::string why = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
        return make_error(ErrorCode::unreachable, "cannot reach " + url + ": " + why);
    }
    return HttpResponse{status, std::move(sink.body)};
}

} // namespace

// One request's state; it must outlive curl_easy_perform.
struct HttpClient::Transfer {
    std::string url;
    HeaderList headers;
    ResponseSink sink;
    char error_buffer[CURL_ERROR_SIZE] = {};
};

Result<CURL*> HttpClient::begin(Transfer& transfer, std::string_view path) {
    if (handle_->curl == nullptr)
        return make_error(ErrorCode::internal, "curl_easy_init failed");
    transfer.url = endpoint_ + std::string(path);
    prepare(handle_->curl, transfer.url, transfer.headers, token_, transfer.sink,
            transfer.error_buffer);
    return handle_->curl;
}

Result<HttpResponse> HttpClient::request(std::string_view method, std::string_view path,
                                         const std::string& json_body) {
    Transfer transfer;
    auto curl = begin(transfer, path);
    if (!curl)
        return curl.error();
    if (!json_body.empty()) {
        transfer.headers.add("Content-Type: application/json");
        curl_easy_setopt(*curl, CURLOPT_POSTFIELDS, json_body.c_str());
        curl_easy_setopt(*curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(json_body.size()));
    }
    if (method == "GET")
        curl_easy_setopt(*curl, CURLOPT_HTTPGET, 1L);
    else
        curl_easy_setopt(*curl, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
    curl_easy_setopt(*curl, CURLOPT_HTTPHEADER, transfer.headers.list);
    CURLcode code = curl_easy_perform(*curl);
    return finish(*curl, code, transfer.url, transfer.error_buffer, transfer.sink);
}

Result<HttpResponse> HttpClient::upload(std::string_view path,
                                        const std::vector<std::string>& extra_headers,
                                        BodySource& source, std::uint64_t content_length,
                                        const std::function<void(std::uint64_t)>& sent) {
    Transfer transfer;
    auto begun = begin(transfer, path);
    if (!begun)
        return begun.error();
    CURL* curl = *begun;
    for (const auto& line : extra_headers)
        transfer.headers.add(line);
    UploadState state{&source, std::nullopt, 0, &sent};
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, &state);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(content_length));
    curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, upload_buffer_bytes);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, transfer.headers.list);
    CURLcode code = curl_easy_perform(curl);
    if (state.failure)
        return *state.failure;
    if (code == CURLE_OK && state.sent != content_length)
        return make_error(ErrorCode::internal, "the upload ended after " +
                                                   std::to_string(state.sent) + " of " +
                                                   std::to_string(content_length) + " bytes");
    return finish(curl, code, transfer.url, transfer.error_buffer, transfer.sink);
}

} // namespace nixedge::lab::client
