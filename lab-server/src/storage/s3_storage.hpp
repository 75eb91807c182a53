// Storage in an S3-compatible bucket (Ceph RGW, MinIO, AWS S3, R2), over
// libcurl. Requests are signed by libcurl's own SigV4 (CURLOPT_AWS_SIGV4);
// the payload hash (x-amz-content-sha256) is computed here, as curl 7.88
// does not send it. The key "chunks/ab12…" is the object of that name.
#pragma once

#include "storage/object_lister.hpp"
#include "storage/storage.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace nixedge::lab {

struct S3Options {
    std::string endpoint; // "http(s)://host[:port]", no path
    std::string region = "us-east-1";
    std::string bucket;
    // Path style: endpoint/bucket/key (RGW and MinIO by default). Virtual host:
    // bucket.host/key (AWS, R2 custom domains).
    bool path_style = true;
    std::string access_key_id;
    std::string secret_access_key;
    // Buckets whose policy hides existence answer 403 for a missing key to a
    // client without list permission; then 403 on HEAD/GET means "missing".
    bool missing_on_403 = false;
    // Idle connections kept for reuse (each is a CURL easy handle).
    std::uint32_t max_idle_connections = 16;
    // Tries per call, the first included; retried: connection failures,
    // timeouts, HTTP 5xx and 429, with exponential backoff from retry_delay.
    std::uint32_t max_attempts = 4;
    std::chrono::milliseconds retry_delay{200};
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds request_timeout{60000};
    // A get reads its whole object into memory before returning the reader
    // (so a retry never hands a caller half an object twice); objects are
    // chunks of a few MiB, manifests and narinfos. Longer ones are refused.
    std::uint64_t max_object_bytes = 256ull << 20;
};

class S3Storage final : public Storage, public ObjectLister {
  public:
    // Checks the options (not the bucket: see check_bucket).
    static Result<std::unique_ptr<S3Storage>> open(S3Options options);
    ~S3Storage() override;

    Result<bool> exists(std::string_view key) override;
    Result<void> put(std::string_view key, ByteView bytes) override;
    Result<std::unique_ptr<ObjectReader>> get(std::string_view key) override;
    Result<void> remove(std::string_view key) override;
    // DeleteObjects (quiet), 1000 keys a request, one request after another.
    // A key the bucket reports an error for (other than NoSuchKey) fails the
    // call, naming the first such key and its code.
    Result<void> remove_many(std::span<const std::string> keys) override;
    // ListObjectsV2, 1000 keys a page.
    Result<void> list(std::string_view prefix, const ObjectVisitor& visit) override;

    // One HEAD of the bucket: storage_unavailable naming the cause (endpoint
    // down, bucket missing, credentials refused) if it cannot be used.
    Result<void> check_bucket();

    const S3Options& options() const { return options_; }

  private:
    struct Pool;
    struct Response;
    explicit S3Storage(S3Options options);
    // method, the key's URL-encoded path below the bucket ("" for the bucket),
    // the canonical query string, the body to send (PUT, POST), a limit on the
    // body received and headers to send (and sign) besides the usual ones.
    Result<Response> request(std::string_view method, std::string_view key,
                             const std::string& query, ByteView body, std::uint64_t max_body,
                             std::span<const std::string> headers = {});
    // One DeleteObjects request of at most 1000 keys.
    Result<void> delete_objects(std::span<const std::string> keys);
    std::string url_for(std::string_view key, const std::string& query) const;

    S3Options options_;
    std::unique_ptr<Pool> pool_;
};

} // namespace nixedge::lab
