#include "storage/s3_storage.hpp"

#include "nixedge/encoding.hpp"
#include "nixedge/sha256.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

namespace nixedge::lab {

namespace {

constexpr std::chrono::milliseconds max_retry_delay{10000};
// DeleteObjects takes at most this many keys a request.
constexpr std::size_t max_keys_per_delete = 1000;

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// RFC 3986 unreserved characters stay, everything else is %XX (uppercase),
// as SigV4's canonical form wants; '/' stays in paths, not in query values.
std::string uri_encode(std::string_view text, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        bool plain = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
        if (plain) {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

// The text between <tag> and </tag> from `from` on; npos-safe.
std::optional<std::string_view> xml_element(std::string_view xml, std::string_view tag,
                                            std::size_t& from) {
    std::string open = "<" + std::string(tag) + ">";
    std::string close = "</" + std::string(tag) + ">";
    auto start = xml.find(open, from);
    if (start == std::string_view::npos)
        return std::nullopt;
    start += open.size();
    auto end = xml.find(close, start);
    if (end == std::string_view::npos)
        return std::nullopt;
    from = end + close.size();
    return xml.substr(start, end - start);
}

std::optional<std::string_view> xml_element(std::string_view xml, std::string_view tag) {
    std::size_t from = 0;
    return xml_element(xml, tag, from);
}

std::string xml_unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '&') {
            out += text[i];
            continue;
        }
        auto semi = text.find(';', i);
        if (semi == std::string_view::npos) {
            out += text.substr(i);
            break;
        }
        auto entity = text.substr(i + 1, semi - i - 1);
        if (entity == "amp")
            out += '&';
        else if (entity == "lt")
            out += '<';
        else if (entity == "gt")
            out += '>';
        else if (entity == "quot")
            out += '"';
        else if (entity == "apos")
            out += '\'';
        else if (entity.starts_with('#')) {
            bool is_hex = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X');
            auto digits = std::string(entity.substr(is_hex ? 2 : 1));
            auto code = std::strtoul(digits.c_str(), nullptr, is_hex ? 16 : 10);
            if (code < 0x80) {
                out += static_cast<char>(code);
            } else if (code < 0x800) {
                out += static_cast<char>(0xC0 | (code >> 6));
                out += static_cast<char>(0x80 | (code & 0x3F));
            } else {
                out += static_cast<char>(0xE0 | (code >> 12));
                out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (code & 0x3F));
            }
        } else {
            out += text.substr(i, semi - i + 1);
        }
        i = semi;
    }
    return out;
}

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

// Content-MD5: the base64 of the body's MD5, which DeleteObjects requires.
std::string content_md5(ByteView body) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(body.data(), body.size(), digest, &length, EVP_md5(), nullptr);
    return encoding::to_base64(ByteView(digest, length));
}

// "2024-05-01T12:34:56.000Z"
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
    std::tm tm{};
    std::string s(text);
    if (::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr)
        return std::nullopt;
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

bool is_retryable(CURLcode code) {
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

bool is_retryable_status(long status) {
    return status >= 500 || status == 429;
}

struct UploadSource {
    ByteView bytes;
    std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* source = static_cast<UploadSource*>(user);
    std::size_t n = std::min(size * count, source->bytes.size() - source->offset);
    std::copy_n(source->bytes.data() + source->offset, n, reinterpret_cast<std::uint8_t*>(buffer));
    source->offset += n;
    return n;
}

struct DownloadSink {
    Bytes body;
    std::uint64_t limit = 0;
    bool too_large = false;
};

std::size_t write_download(char* data, std::size_t size, std::size_t count, void* user) {
    auto* sink = static_cast<DownloadSink*>(user);
    std::size_t n = size * count;
    if (sink->body.size() + n > sink->limit) {
        sink->too_large = true;
        return 0; // aborts the transfer (CURLE_WRITE_ERROR)
    }
    sink->body.insert(sink->body.end(), reinterpret_cast<const std::uint8_t*>(data),
                      reinterpret_cast<const std::uint8_t*>(data) + n);
    return n;
}

class BufferedObjectReader final : public ObjectReader {
  public:
    explicit BufferedObjectReader(Bytes bytes) : bytes_(std::move(bytes)) {}
    std::uint64_t size() const override { return bytes_.size(); }
    Result<std::size_t> read(std::span<std::uint8_t> out) override {
        std::size_t n = std::min(out.size(), bytes_.size() - offset_);
        std::copy_n(bytes_.data() + offset_, n, out.data());
        offset_ += n;
        return n;
    }

  private:
    Bytes bytes_;
    std::size_t offset_ = 0;
};

std::string status_text(long status, const Bytes& body) {
    std::string text = "HTTP " + std::to_string(status);
    std::string_view xml(reinterpret_cast<const char*>(body.data()), body.size());
    if (auto code = xml_element(xml, "Code"))
        text += " " + xml_unescape(*code);
    return text;
}

} // namespace

// Idle easy handles: each keeps its connection open (curl_easy_reset keeps
// the connection cache), so a handle taken again reuses its connection.
struct S3Storage::Pool {
    std::mutex mutex;
    std::vector<CURL*> idle;
    std::size_t max_idle = 0;

    CURL* take() {
        {
            std::lock_guard lock(mutex);
            if (!idle.empty()) {
                CURL* handle = idle.back();
                idle.pop_back();
                return handle;
            }
        }
        return curl_easy_init();
    }
    void give_back(CURL* handle) {
        {
            std::lock_guard lock(mutex);
            if (idle.size() < max_idle) {
                idle.push_back(handle);
                return;
            }
        }
        curl_easy_cleanup(handle);
    }
    ~Pool() {
        for (CURL* handle : idle)
            curl_easy_cleanup(handle);
    }
};

struct S3Storage::Response {
    long status = 0;
    Bytes body;
    std::optional<std::uint64_t> content_length;
};

namespace {

Error invalid_option(std::string why) {
    return make_error(ErrorCode::invalid_argument, "S3 storage: " + std::move(why));
}

} // namespace

Result<std::unique_ptr<S3Storage>> S3Storage::open(S3Options options) {
    auto& endpoint = options.endpoint;
    while (endpoint.ends_with('/'))
        endpoint.pop_back();
    if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://"))
        return invalid_option("endpoint must start with http:// or https://");
    auto authority = std::string_view(endpoint).substr(endpoint.find("://") + 3);
    if (authority.empty() || authority.find_first_of("/?#@") != std::string_view::npos)
        return invalid_option("endpoint must be scheme://host[:port] with no path or user");
    if (options.bucket.empty() || options.region.empty())
        return invalid_option("bucket and region must be set");
    if (options.access_key_id.empty() || options.secret_access_key.empty())
        return invalid_option("credentials are missing");
    if (options.max_attempts == 0)
        return invalid_option("max_attempts must be at least 1");
    init_curl_once();
    return std::unique_ptr<S3Storage>(new S3Storage(std::move(options)));
}

S3Storage::S3Storage(S3Options options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {
    pool_->max_idle = options_.max_idle_connections;
}

S3Storage::~S3Storage() = default;

std::string S3Storage::url_for(std::string_view key, const std::string& query) const {
    std::string url;
    if (options_.path_style) {
        url = options_.endpoint + "/" + options_.bucket + "/" + std::string(key);
    } else {
        auto scheme_end = options_.endpoint.find("://") + 3;
        url = options_.endpoint.substr(0, scheme_end) + options_.bucket + "." +
              options_.endpoint.substr(scheme_end) + "/" + std::string(key);
    }
    if (!query.empty())
        url += "?" + query;
    return url;
}

Result<S3Storage::Response> S3Storage::request(std::string_view method, std::string_view key,
                                               const std::string& query, ByteView body,
                                               std::uint64_t max_body,
                                               std::span<const std::string> extra_headers) {
    const std::string url = url_for(key, query);
    const std::string payload_hash = encoding::to_hex(Sha256::digest(body));
    const std::string sigv4 = "aws:amz:" + options_.region + ":s3";
    const std::string what = "S3 " + std::string(method) + " " + options_.bucket + "/" +
                             std::string(key) + (query.empty() ? "" : "?" + query);

    std::string last_failure;
    auto delay = options_.retry_delay;
    thread_local std::mt19937 jitter{std::random_device{}()};
    for (std::uint32_t attempt = 1;; ++attempt) {
        CURL* curl = pool_->take();
        if (curl == nullptr)
            return make_error(ErrorCode::storage_unavailable, what + ": curl_easy_init failed");
        curl_easy_reset(curl);
        curl_slist* headers = nullptr;
        headers = curl_slist_append(headers, ("x-amz-content-sha256: " + payload_hash).c_str());
        for (const auto& header : extra_headers)
            headers = curl_slist_append(headers, header.c_str());
        // No "Expect:" override here: curl 7.88 signs the headers of this list,
        // including a blanked one it then does not send (RGW: SignatureDoesNotMatch).
        UploadSource source{body};
        DownloadSink sink{{}, max_body};
        char error_buffer[CURL_ERROR_SIZE] = {};

        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
        curl_easy_setopt(curl, CURLOPT_USERNAME, options_.access_key_id.c_str());
        curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.secret_access_key.c_str());
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(options_.connect_timeout.count()));
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                         static_cast<long>(options_.request_timeout.count()));
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_download);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
        if (method == "HEAD") {
            curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        } else if (method == "PUT") {
            curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
            curl_easy_setopt(curl, CURLOPT_READDATA, &source);
            curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
        } else if (method == "POST") {
            curl_easy_setopt(curl, CURLOPT_POST, 1L);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(body.size()));
        } else if (method != "GET") {
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
        }

        CURLcode code = curl_easy_perform(curl);
        Response response;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
        curl_off_t length = -1;
        curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        if (length >= 0)
            response.content_length = static_cast<std::uint64_t>(length);
        curl_slist_free_all(headers);
        // A handle whose transfer failed may hold a broken connection: drop it.
        if (code == CURLE_OK)
            pool_->give_back(curl);
        else
            curl_easy_cleanup(curl);

        if (sink.too_large)
            return make_error(ErrorCode::limit_exceeded, what + ": the object is longer than " +
                                                             std::to_string(max_body) + " bytes");
        bool retry = false;
        if (code != CURLE_OK) {
            last_failure = std::string(curl_easy_strerror(code));
            if (error_buffer[0] != '\0')
                last_failure += " (" + std::string(error_buffer) + ")";
            retry = is_retryable(code);
            if (!retry)
                return make_error(ErrorCode::storage_unavailable, what + ": " + last_failure);
        } else if (is_retryable_status(response.status)) {
            last_failure = status_text(response.status, sink.body);
            retry = true;
        }
        if (!retry) {
            response.body = std::move(sink.body);
            return response;
        }
        if (attempt >= options_.max_attempts)
            return make_error(ErrorCode::storage_unavailable,
                              what + ": " + last_failure + " after " + std::to_string(attempt) +
                                  (attempt == 1 ? " attempt" : " attempts"));
        // Full jitter over [delay/2, delay], so replicas retrying together spread out.
        std::uniform_int_distribution<long> spread(delay.count() / 2, delay.count());
        std::this_thread::sleep_for(std::chrono::milliseconds(spread(jitter)));
        delay = std::min(delay * 2, max_retry_delay);
    }
}

namespace {

Error unexpected(std::string_view method, std::string_view bucket, std::string_view key,
                 long status, const Bytes& body) {
    std::string hint;
    if (status == 403)
        hint = " (access denied: check the credentials and the bucket policy)";
    else if (status == 404)
        hint = " (no such bucket?)";
    return make_error(ErrorCode::storage_unavailable,
                      "S3 " + std::string(method) + " " + std::string(bucket) + "/" +
                          std::string(key) + ": " + status_text(status, body) + hint);
}

bool is_no_such_bucket(const Bytes& body) {
    std::string_view xml(reinterpret_cast<const char*>(body.data()), body.size());
    auto code = xml_element(xml, "Code");
    return code && *code == "NoSuchBucket";
}

} // namespace

Result<bool> S3Storage::exists(std::string_view key) {
    if (auto ok = validate_object_key(key); !ok)
        return ok.error();
    auto path = uri_encode(key, true);
    auto response = request("HEAD", path, "", {}, 0);
    if (!response)
        return response.error();
    if (response->status == 200)
        return true;
    // A HEAD has no body, so a missing bucket looks like a missing key here;
    // check_bucket at open tells them apart.
    if (response->status == 404 || (response->status == 403 && options_.missing_on_403))
        return false;
    return unexpected("HEAD", options_.bucket, key, response->status, response->body);
}

Result<void> S3Storage::put(std::string_view key, ByteView bytes) {
    if (auto ok = validate_object_key(key); !ok)
        return ok.error();
    auto response = request("PUT", uri_encode(key, true), "", bytes, 64 * 1024);
    if (!response)
        return response.error();
    if (response->status == 200)
        return {};
    return unexpected("PUT", options_.bucket, key, response->status, response->body);
}

Result<std::unique_ptr<ObjectReader>> S3Storage::get(std::string_view key) {
    if (auto ok = validate_object_key(key); !ok)
        return ok.error();
    auto response = request("GET", uri_encode(key, true), "", {}, options_.max_object_bytes);
    if (!response)
        return response.error();
    auto status = response->status;
    if ((status == 404 && !is_no_such_bucket(response->body)) ||
        (status == 403 && options_.missing_on_403))
        return make_error(ErrorCode::not_found, "no object '" + std::string(key) + "'");
    if (status != 200)
        return unexpected("GET", options_.bucket, key, status, response->body);
    if (response->content_length && *response->content_length != response->body.size())
        return make_error(ErrorCode::storage_unavailable,
                          "S3 GET " + options_.bucket + "/" + std::string(key) + ": got " +
                              std::to_string(response->body.size()) + " of " +
                              std::to_string(*response->content_length) + " bytes");
    return std::unique_ptr<ObjectReader>(
        std::make_unique<BufferedObjectReader>(std::move(response->body)));
}

Result<void> S3Storage::remove(std::string_view key) {
    if (auto ok = validate_object_key(key); !ok)
        return ok.error();
    auto response = request("DELETE", uri_encode(key, true), "", {}, 64 * 1024);
    if (!response)
        return response.error();
    auto status = response->status;
    if (status == 204 || status == 200 || (status == 404 && !is_no_such_bucket(response->body)))
        return {};
    return unexpected("DELETE", options_.bucket, key, status, response->body);
}

Result<void> S3Storage::remove_many(std::span<const std::string> keys) {
    for (const auto& key : keys)
        if (auto ok = validate_object_key(key); !ok)
            return ok;
    for (std::size_t first = 0; first < keys.size(); first += max_keys_per_delete)
        if (auto ok = delete_objects(
                keys.subspan(first, std::min(max_keys_per_delete, keys.size() - first)));
            !ok)
            return ok;
    return {};
}

Result<void> S3Storage::delete_objects(std::span<const std::string> keys) {
    std::string body = "<Delete><Quiet>true</Quiet>";
    for (const auto& key : keys)
        body += "<Object><Key>" + xml_escape(key) + "</Key></Object>";
    body += "</Delete>";
    const std::string headers[] = {"Content-MD5: " + content_md5(as_bytes(body)),
                                   "Content-Type: application/xml"};
    // "delete=": curl signs the query as it is, and SigV4's canonical form
    // of a parameter without a value ends in '='.
    auto response = request("POST", "", "delete=", as_bytes(body), 16ull << 20, headers);
    if (!response)
        return response.error();
    if (response->status != 200)
        return unexpected("POST", options_.bucket, "?delete", response->status, response->body);
    // Quiet: only the keys that failed come back, each as an <Error>.
    std::string_view xml(reinterpret_cast<const char*>(response->body.data()),
                         response->body.size());
    std::size_t from = 0, failed = 0;
    std::string first_failure;
    while (auto error = xml_element(xml, "Error", from)) {
        auto code = xml_unescape(xml_element(*error, "Code").value_or("(no code)"));
        if (code == "NoSuchKey")
            continue;
        if (failed++ == 0) {
            first_failure =
                xml_unescape(xml_element(*error, "Key").value_or("(no key)")) + ": " + code;
            if (auto message = xml_element(*error, "Message"))
                first_failure += " (" + xml_unescape(*message) + ")";
        }
    }
    if (failed > 0)
        return make_error(ErrorCode::storage_unavailable,
                          "S3 DeleteObjects " + options_.bucket + ": " + std::to_string(failed) +
                              " of " + std::to_string(keys.size()) +
                              " keys not deleted, the first " + first_failure);
    return {};
}

Result<void> S3Storage::list(std::string_view prefix, const ObjectVisitor& visit) {
    std::string continuation;
    while (true) {
        // Parameters in SigV4's canonical order (sorted by name), each encoded.
        std::string query;
        if (!continuation.empty())
            query += "continuation-token=" + uri_encode(continuation, false) + "&";
        query += "list-type=2&prefix=" + uri_encode(prefix, false);
        auto response = request("GET", "", query, {}, 64ull << 20);
        if (!response)
            return response.error();
        if (response->status != 200)
            return unexpected("LIST", options_.bucket, prefix, response->status, response->body);
        std::string_view xml(reinterpret_cast<const char*>(response->body.data()),
                             response->body.size());
        std::size_t from = 0;
        while (auto contents = xml_element(xml, "Contents", from)) {
            auto key = xml_element(*contents, "Key");
            auto size = xml_element(*contents, "Size");
            if (!key || !size)
                return make_error(ErrorCode::storage_unavailable,
                                  "S3 LIST " + options_.bucket + ": malformed listing");
            std::string name = xml_unescape(*key);
            if (!validate_object_key(name))
                continue; // like LocalStorage: what no key can name is no object of ours
            ObjectInfo info{name, std::strtoull(std::string(*size).c_str(), nullptr, 10),
                            std::nullopt};
            if (auto modified = xml_element(*contents, "LastModified"))
                info.last_modified = parse_iso8601(*modified);
            if (auto ok = visit(info); !ok)
                return ok;
        }
        auto truncated = xml_element(xml, "IsTruncated");
        auto next = xml_element(xml, "NextContinuationToken");
        if (!truncated || *truncated != "true" || !next)
            return {};
        continuation = xml_unescape(*next);
    }
}

Result<void> S3Storage::check_bucket() {
    auto response = request("HEAD", "", "", {}, 0);
    if (!response)
        return response.error();
    if (response->status == 200)
        return {};
    return unexpected("HEAD", options_.bucket, "", response->status, response->body);
}

} // namespace nixedge::lab
