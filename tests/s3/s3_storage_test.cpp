// S3Storage against a real Ceph RGW (tests/lib/rgw.sh, started once for all
// of these by the ctest fixture; NIXEDGE_TEST_RGW_ENV names its env file):
// the behaviour LocalStorage has, plus what only S3 has (signatures, 403,
// retries, timeouts). A fake HTTP server stands in where RGW cannot misbehave.
#include "storage/s3_storage.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/sha256.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <random>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace nixedge;
using namespace nixedge::lab;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> rgw_env() {
    const char* file = std::getenv("NIXEDGE_TEST_RGW_ENV");
    if (file == nullptr)
        FAIL("NIXEDGE_TEST_RGW_ENV is not set: run these tests through ctest (the RGW fixture)");
    std::ifstream in(file);
    if (!in)
        FAIL("cannot read " << file << ": did \"s3: start RGW\" fail?");
    std::map<std::string, std::string> env;
    std::string line;
    while (std::getline(in, line))
        if (auto eq = line.find('='); eq != std::string::npos)
            env[line.substr(0, eq)] = line.substr(eq + 1);
    return env;
}

S3Options rgw_options() {
    auto env = rgw_env();
    S3Options options;
    options.endpoint = env["RGW_ENDPOINT"];
    options.region = env["RGW_REGION"];
    options.bucket = env["RGW_BUCKET"];
    options.access_key_id = env["RGW_ACCESS_KEY"];
    options.secret_access_key = env["RGW_SECRET_KEY"];
    options.retry_delay = 10ms;
    return options;
}

std::unique_ptr<S3Storage> open_s3(S3Options options) {
    auto storage = S3Storage::open(std::move(options));
    if (!storage)
        FAIL(storage.error().detail);
    return std::move(storage).value();
}

std::unique_ptr<S3Storage> open_rgw() {
    return open_s3(rgw_options());
}

// Every test writes under its own prefix: tests run in parallel on one bucket.
std::string unique_prefix() {
    static std::atomic<int> counter{0};
    std::random_device random;
    return "t" + std::to_string(::getpid()) + "-" + std::to_string(random() % 1000000) + "-" +
           std::to_string(counter++) + "/";
}

Bytes pattern_bytes(std::size_t size, std::uint32_t seed) {
    Bytes out(size);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& byte : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        byte = static_cast<std::uint8_t>(x);
    }
    return out;
}

Bytes read_whole(Storage& storage, std::string_view key) {
    auto bytes = read_object(storage, key, 1ull << 30);
    if (!bytes)
        FAIL(bytes.error().detail);
    return std::move(bytes).value();
}

std::string chunk_key(const Bytes& raw) {
    return bucket_key::chunk(Sha256::digest(raw));
}

// Puts every key (its own name as the body), 8 at a time.
void put_all(Storage& storage, const std::vector<std::string>& keys) {
    std::atomic<std::size_t> next{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (auto i = next++; i < keys.size(); i = next++)
                if (!storage.put(keys[i], to_bytes(keys[i])))
                    ++failures;
        });
    for (auto& thread : threads)
        thread.join();
    REQUIRE(failures == 0);
}

std::vector<std::string> listed_keys(S3Storage& storage, const std::string& prefix) {
    std::vector<std::string> keys;
    auto listed = storage.list(prefix, [&](const ObjectInfo& info) -> Result<void> {
        keys.push_back(std::string(info.key));
        return {};
    });
    if (!listed)
        FAIL(listed.error().detail);
    return keys;
}

std::string base64_md5(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr);
    return encoding::to_base64(ByteView(digest, length));
}

// A tiny HTTP server on 127.0.0.1 that answers each request with the next
// canned response (the last one repeats), or never answers if `silent`.
class FakeS3 {
  public:
    explicit FakeS3(std::vector<std::string> responses, bool silent = false)
        : responses_(std::move(responses)), silent_(silent) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeS3() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
        for (int client : held_)
            ::close(client);
    }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int requests() const { return requests_; }
    // The last request received, head and body.
    std::string last_request() const {
        std::lock_guard lock(mutex_);
        return last_request_;
    }

  private:
    void serve() {
        while (!stop_) {
            int client = ::accept(fd_, nullptr, nullptr);
            if (client < 0)
                return;
            std::string request;
            char buffer[4096];
            while (request.find("\r\n\r\n") == std::string::npos) {
                auto got = ::recv(client, buffer, sizeof buffer, 0);
                if (got <= 0)
                    break;
                request.append(buffer, static_cast<std::size_t>(got));
            }
            // The body too (a POST's), so closing never cuts an upload short.
            auto head_end = request.find("\r\n\r\n");
            if (head_end != std::string::npos) {
                std::size_t length = 0;
                auto lower = request.substr(0, head_end);
                for (auto& c : lower)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (auto at = lower.find("\r\ncontent-length:"); at != std::string::npos)
                    length = std::stoul(lower.substr(at + 17));
                while (request.size() < head_end + 4 + length) {
                    auto got = ::recv(client, buffer, sizeof buffer, 0);
                    if (got <= 0)
                        break;
                    request.append(buffer, static_cast<std::size_t>(got));
                }
            }
            {
                std::lock_guard lock(mutex_);
                last_request_ = request;
            }
            int index = requests_++;
            if (silent_) {
                held_.push_back(client);
                continue;
            }
            const auto& response = responses_[std::min<std::size_t>(index, responses_.size() - 1)];
            (void)!::send(client, response.data(), response.size(), MSG_NOSIGNAL);
            ::close(client);
        }
    }

    std::vector<std::string> responses_;
    bool silent_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<int> requests_{0};
    std::atomic<bool> stop_{false};
    std::vector<int> held_;
    mutable std::mutex mutex_;
    std::string last_request_;
    std::thread thread_;
};

const std::string http_503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n";
const std::string http_200 = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

S3Options fake_options(const FakeS3& fake) {
    S3Options options;
    options.endpoint = fake.endpoint();
    options.bucket = "bucket";
    options.access_key_id = "AKID";
    options.secret_access_key = "secret-never-shown";
    options.retry_delay = 10ms;
    return options;
}

} // namespace

// ---- what LocalStorage does, on RGW ------------------------------------------------

TEST_CASE("S3Storage: put, exists, get round trip on RGW", "[s3]") {
    auto storage = open_rgw();
    auto bytes = pattern_bytes(100000, 1);
    auto key = unique_prefix() + chunk_key(bytes);
    CHECK(storage->exists(key).value() == false);
    REQUIRE(storage->put(key, bytes).ok());
    CHECK(storage->exists(key).value() == true);
    auto reader = storage->get(key);
    REQUIRE(reader.ok());
    CHECK((*reader)->size() == bytes.size());
    CHECK(read_whole(*storage, key) == bytes);
    CHECK(storage->check_bucket().ok());
}

TEST_CASE("S3Storage: keys of every kind the bucket layout makes", "[s3]") {
    auto storage = open_rgw();
    auto prefix = unique_prefix();
    const std::string hash = "0123456789abcdfghijklmnpqrsvwxyz";
    for (const auto& key :
         {bucket_key::layout_marker(), bucket_key::manifest(Sha256::digest(to_bytes("m"))),
          bucket_key::nix_cache_info("main"), bucket_key::narinfo("main", hash),
          bucket_key::listing("main", hash), bucket_key::sync_plan(),
          std::string("odd name+with=chars&more~ü"), std::string("a/b:c@d,e;f$g")}) {
        INFO(key);
        REQUIRE(storage->put(prefix + key, to_bytes(key)).ok());
        CHECK(read_whole(*storage, prefix + key) == to_bytes(key));
        CHECK(storage->exists(prefix + key).value());
    }
}

TEST_CASE("S3Storage: an empty object, and put replaces an object whole", "[s3]") {
    auto storage = open_rgw();
    auto key = unique_prefix() + "sync/status";
    REQUIRE(storage->put(key, {}).ok());
    CHECK(storage->exists(key).value());
    CHECK(read_whole(*storage, key).empty());
    REQUIRE(storage->put(key, to_bytes("first plan, longer than the second")).ok());
    REQUIRE(storage->put(key, to_bytes("second")).ok());
    CHECK(read_whole(*storage, key) == to_bytes("second"));
}

TEST_CASE("S3Storage: remove is idempotent, a missing object is not_found", "[s3]") {
    auto storage = open_rgw();
    auto key = unique_prefix() + "main/nix-cache-info";
    REQUIRE(storage->put(key, to_bytes("StoreDir: /nix/store\n")).ok());
    CHECK(storage->remove(key).ok());
    CHECK(storage->exists(key).value() == false);
    CHECK(storage->remove(key).ok());
    CHECK(storage->remove(unique_prefix() + "never/written").ok());
    auto missing = storage->get(key);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == ErrorCode::not_found);
}

TEST_CASE("S3Storage: bad keys are rejected by every call before any request", "[s3]") {
    auto storage = open_rgw();
    for (std::string key : {"", "/etc/passwd", "a//b", "../outside", ".hidden", "a\\b"}) {
        INFO("key: " << key);
        CHECK(storage->put(key, to_bytes("x")).error().code == ErrorCode::invalid_argument);
        CHECK(storage->exists(key).error().code == ErrorCode::invalid_argument);
        CHECK(storage->get(key).error().code == ErrorCode::invalid_argument);
        CHECK(storage->remove(key).error().code == ErrorCode::invalid_argument);
    }
    // remove_many checks every key before it deletes any.
    auto good = unique_prefix() + "kept";
    REQUIRE(storage->put(good, to_bytes("x")).ok());
    std::vector<std::string> keys{good, "a//b"};
    CHECK(storage->remove_many(keys).error().code == ErrorCode::invalid_argument);
    CHECK(storage->exists(good).value());
}

TEST_CASE("S3Storage: a large object streams in pieces", "[s3]") {
    auto storage = open_rgw();
    auto bytes = pattern_bytes(10 << 20, 7);
    auto key = unique_prefix() + chunk_key(bytes);
    REQUIRE(storage->put(key, bytes).ok());
    auto reader = storage->get(key);
    REQUIRE(reader.ok());
    REQUIRE((*reader)->size() == bytes.size());
    Bytes piece(64 << 10), joined;
    while (true) {
        auto got = (*reader)->read(piece);
        REQUIRE(got.ok());
        if (*got == 0)
            break;
        joined.insert(joined.end(), piece.begin(), piece.begin() + static_cast<long>(*got));
    }
    CHECK(joined == bytes);
    CHECK(read_object(*storage, key, bytes.size() - 1).error().code == ErrorCode::limit_exceeded);

    // An object longer than max_object_bytes is refused, not buffered.
    auto options = rgw_options();
    options.max_object_bytes = 1 << 20;
    auto limited = open_s3(options)->get(key);
    REQUIRE_FALSE(limited.ok());
    CHECK(limited.error().code == ErrorCode::limit_exceeded);
}

TEST_CASE("S3Storage: concurrent puts and gets from many threads", "[s3]") {
    auto storage = open_rgw();
    auto prefix = unique_prefix();
    const auto shared = pattern_bytes(256 << 10, 11);
    const auto shared_key = prefix + chunk_key(shared);
    std::atomic<int> failures{0}, torn_reads{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 6; ++i) {
                auto own = pattern_bytes(32 << 10, static_cast<std::uint32_t>(t * 100 + i));
                auto own_key = prefix + "own/" + std::to_string(t) + "-" + std::to_string(i);
                if (!storage->put(shared_key, shared) || !storage->put(own_key, own))
                    ++failures;
                auto read = read_object(*storage, shared_key, 1 << 20);
                auto read_own = read_object(*storage, own_key, 1 << 20);
                if (!read || *read != shared || !read_own || *read_own != own)
                    ++torn_reads;
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    CHECK(failures == 0);
    CHECK(torn_reads == 0);
}

TEST_CASE("S3Storage: a listing gives every object under a prefix in byte order", "[s3]") {
    auto storage = open_rgw();
    auto prefix = unique_prefix();
    for (std::string key : {"a/x", "a-b", "a/b/c", "B", "sync/plan", "a0", "chunks/ff"})
        REQUIRE(storage->put(prefix + key, as_bytes(key + " body")).ok());
    std::vector<std::string> keys;
    auto listed = storage->list(prefix, [&](const ObjectInfo& info) -> Result<void> {
        keys.push_back(std::string(info.key.substr(prefix.size())));
        CHECK(info.size == info.key.size() - prefix.size() + 5);
        CHECK(info.last_modified.has_value());
        return {};
    });
    REQUIRE(listed.ok());
    CHECK(keys ==
          std::vector<std::string>{"B", "a-b", "a/b/c", "a/x", "a0", "chunks/ff", "sync/plan"});
    int visits = 0;
    auto stopped = storage->list(prefix, [&](const ObjectInfo&) -> Result<void> {
        return ++visits == 2 ? Result<void>(make_error(ErrorCode::internal, "stop here"))
                             : Result<void>();
    });
    CHECK(stopped.error().detail == "stop here");
    CHECK(visits == 2);
}

TEST_CASE("S3Storage: a listing pages through more than 1000 keys", "[s3]") {
    auto storage = open_rgw();
    auto prefix = unique_prefix();
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = t; i < 1010; i += 8) {
                char name[16];
                std::snprintf(name, sizeof name, "k%04d", i);
                if (!storage->put(prefix + name, to_bytes("x")))
                    ++failures;
            }
        });
    for (auto& thread : threads)
        thread.join();
    REQUIRE(failures == 0);
    int count = 0;
    std::string last;
    REQUIRE(storage
                ->list(prefix,
                       [&](const ObjectInfo& info) -> Result<void> {
                           CHECK(std::string(info.key) > last);
                           last = info.key;
                           ++count;
                           return {};
                       })
                .ok());
    CHECK(count == 1010);
}

TEST_CASE("S3Storage: remove_many deletes 0, 1 and 1500 keys, missing ones among them, and "
          "nothing else",
          "[s3]") {
    auto storage = open_rgw();
    auto prefix = unique_prefix();
    std::vector<std::string> kept{prefix + "kept/a", prefix + "kept/b", prefix + "k0001-longer"};
    // 1500 keys, every tenth never written; names XML must escape among them.
    std::vector<std::string> doomed, written;
    for (int i = 0; i < 1500; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "k%04d", i);
        doomed.push_back(prefix + name + (i % 100 == 7 ? "&<odd> 'name\"+ü" : ""));
        if (i % 10 != 3)
            written.push_back(doomed.back());
    }
    auto single = prefix + "single/object";
    written.push_back(single);
    written.insert(written.end(), kept.begin(), kept.end());
    put_all(*storage, written);
    REQUIRE(listed_keys(*storage, prefix).size() == 1350 + 1 + kept.size());

    CHECK(storage->remove_many({}).ok());
    CHECK(listed_keys(*storage, prefix).size() == 1350 + 1 + kept.size());

    std::vector<std::string> one{single};
    REQUIRE(storage->remove_many(one).ok());
    CHECK(storage->exists(single).value() == false);
    CHECK(storage->remove_many(one).ok()); // already gone

    auto removed = storage->remove_many(doomed); // two requests: 1000 and 500
    INFO((removed ? "" : removed.error().detail));
    REQUIRE(removed.ok());
    auto left = listed_keys(*storage, prefix);
    std::sort(kept.begin(), kept.end());
    CHECK(left == kept);
    CHECK(storage->remove_many(doomed).ok()); // all missing now
}

// ---- what only S3 has -----------------------------------------------------------------

TEST_CASE("S3Storage: a wrong secret is a clear storage_unavailable without the secret", "[s3]") {
    auto options = rgw_options();
    options.secret_access_key = "wrong-secret-value";
    auto storage = open_s3(options);
    for (auto error : {storage->put("chunks/x", to_bytes("x")).error(),
                       storage->get("chunks/x").error(), storage->check_bucket().error()}) {
        INFO(error.detail);
        CHECK(error.code == ErrorCode::storage_unavailable);
        CHECK_THAT(error.detail, Catch::Contains("403"));
        CHECK_THAT(error.detail, !Catch::Contains("wrong-secret-value"));
    }
    CHECK_THAT(storage->put("chunks/x", to_bytes("x")).error().detail,
               Catch::Contains("S3 PUT nixedge-test/chunks/x") &&
                   Catch::Contains("SignatureDoesNotMatch") &&
                   Catch::Contains("check the credentials"));
    std::vector<std::string> keys{"chunks/x", "chunks/y"};
    auto removed = storage->remove_many(keys);
    REQUIRE_FALSE(removed.ok());
    CHECK(removed.error().code == ErrorCode::storage_unavailable);
    CHECK_THAT(removed.error().detail, Catch::Contains("S3 POST nixedge-test/?delete") &&
                                           Catch::Contains("HTTP 403") &&
                                           Catch::Contains("SignatureDoesNotMatch") &&
                                           Catch::Contains("check the credentials") &&
                                           !Catch::Contains("wrong-secret-value"));
}

TEST_CASE("S3Storage: a bucket that hides existence answers 403, missing_on_403 reads it as "
          "missing",
          "[s3]") {
    auto env = rgw_env();
    auto options = rgw_options();
    options.access_key_id = env["RGW_OTHER_ACCESS_KEY"];
    options.secret_access_key = env["RGW_OTHER_SECRET_KEY"];
    auto key = unique_prefix() + "main/0123456789abcdfghijklmnpqrsvwxyz.narinfo";

    auto strict = open_s3(options);
    auto exists = strict->exists(key);
    REQUIRE_FALSE(exists.ok());
    CHECK(exists.error().code == ErrorCode::storage_unavailable);
    CHECK_THAT(exists.error().detail, Catch::Contains("403"));

    options.missing_on_403 = true;
    auto lenient = open_s3(options);
    CHECK(lenient->exists(key).value() == false);
    CHECK(lenient->get(key).error().code == ErrorCode::not_found);
}

TEST_CASE("S3Storage: virtual-host addressing names the bucket in the host", "[s3]") {
    // curl resolves *.localhost to the loopback itself; RGW's dns name is localhost.
    auto options = rgw_options();
    options.endpoint.replace(options.endpoint.find("127.0.0.1"), 9, "localhost");
    options.path_style = false;
    auto storage = open_s3(options);
    auto key = unique_prefix() + "vhost/object";
    REQUIRE(storage->put(key, to_bytes("by host")).ok());
    CHECK(read_whole(*storage, key) == to_bytes("by host"));
    CHECK(read_whole(*open_rgw(), key) == to_bytes("by host"));
}

TEST_CASE("S3Storage: 503 is retried with backoff, then succeeds", "[s3]") {
    FakeS3 fake({http_503, http_503, http_200});
    auto storage = open_s3(fake_options(fake));
    auto exists = storage->exists("chunks/ab");
    REQUIRE(exists.ok());
    CHECK(*exists);
    CHECK(fake.requests() == 3);
}

TEST_CASE("S3Storage: 503 on every attempt is storage_unavailable naming the operation", "[s3]") {
    FakeS3 fake({http_503});
    auto options = fake_options(fake);
    options.max_attempts = 3;
    auto storage = open_s3(options);
    auto put = storage->put("chunks/ab", to_bytes("x"));
    REQUIRE_FALSE(put.ok());
    CHECK(put.error().code == ErrorCode::storage_unavailable);
    CHECK_THAT(put.error().detail,
               Catch::Contains("S3 PUT bucket/chunks/ab") && Catch::Contains("HTTP 503") &&
                   Catch::Contains("after 3 attempts") && !Catch::Contains("secret-never-shown"));
    CHECK(fake.requests() == 3);
}

TEST_CASE("S3Storage: a closed port is storage_unavailable within bounded time", "[s3]") {
    int port = 0;
    {
        FakeS3 fake({http_200});
        port = std::stoi(fake.endpoint().substr(fake.endpoint().rfind(':') + 1));
    }
    S3Options options;
    options.endpoint = "http://127.0.0.1:" + std::to_string(port);
    options.bucket = "bucket";
    options.access_key_id = "AKID";
    options.secret_access_key = "secret";
    options.max_attempts = 3;
    options.retry_delay = 20ms;
    auto storage = open_s3(options);
    auto start = std::chrono::steady_clock::now();
    auto got = storage->get("chunks/ab");
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(got.ok());
    CHECK(got.error().code == ErrorCode::storage_unavailable);
    CHECK_THAT(got.error().detail,
               Catch::Contains("S3 GET bucket/chunks/ab") && Catch::Contains("after 3 attempts"));
    CHECK(took < 2s);
}

TEST_CASE("S3Storage: a server that never answers times out, retried", "[s3]") {
    FakeS3 fake({}, true);
    auto options = fake_options(fake);
    options.max_attempts = 2;
    options.request_timeout = 300ms;
    auto storage = open_s3(options);
    auto start = std::chrono::steady_clock::now();
    auto exists = storage->exists("chunks/ab");
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(exists.ok());
    CHECK(exists.error().code == ErrorCode::storage_unavailable);
    CHECK_THAT(exists.error().detail, Catch::Contains("Timeout") || Catch::Contains("timed out"));
    CHECK(fake.requests() == 2);
    CHECK(took < 3s);
}

TEST_CASE("S3Storage: remove_many sends DeleteObjects of at most 1000 keys, escaped, with "
          "Content-MD5",
          "[s3]") {
    FakeS3 fake({http_200});
    auto storage = open_s3(fake_options(fake));
    std::vector<std::string> keys;
    for (int i = 0; i < 1001; ++i)
        keys.push_back("chunks/" + std::to_string(i));
    keys.back() = "main/a&b<c>'d\"e";
    REQUIRE(storage->remove_many(keys).ok());
    CHECK(fake.requests() == 2);
    auto request = fake.last_request();
    auto body_at = request.find("\r\n\r\n");
    REQUIRE(body_at != std::string::npos);
    auto head = request.substr(0, body_at);
    auto body = request.substr(body_at + 4);
    CHECK(head.starts_with("POST /bucket/?delete= HTTP/1.1\r\n"));
    CHECK(body == "<Delete><Quiet>true</Quiet><Object><Key>main/a&amp;b&lt;c&gt;&apos;d&quot;e"
                  "</Key></Object></Delete>");
    CHECK_THAT(head, Catch::Contains("Content-MD5: " + base64_md5(body)));
    CHECK_THAT(head, Catch::Contains("x-amz-content-sha256: " +
                                     encoding::to_hex(Sha256::digest(as_bytes(body)))));
    CHECK_THAT(head, Catch::Contains("content-md5;") && Catch::Contains("Authorization: AWS4"));

    CHECK(storage->remove_many({}).ok());
    CHECK(fake.requests() == 2); // nothing to send
}

TEST_CASE("S3Storage: remove_many fails on a key the bucket could not delete, not on NoSuchKey",
          "[s3]") {
    auto result_with = [](std::string errors) {
        auto body =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult>" + errors + "</DeleteResult>";
        return "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    };
    std::vector<std::string> keys{"chunks/a", "chunks/b&c", "chunks/d"};
    {
        FakeS3 fake({result_with("<Error><Key>chunks/a</Key><Code>NoSuchKey</Code>"
                                 "<Message>gone</Message></Error>")});
        CHECK(open_s3(fake_options(fake))->remove_many(keys).ok());
    }
    FakeS3 fake({result_with("<Error><Key>chunks/a</Key><Code>NoSuchKey</Code></Error>"
                             "<Error><Key>chunks/b&amp;c</Key><Code>AccessDenied</Code>"
                             "<Message>Access Denied</Message></Error>"
                             "<Error><Key>chunks/d</Key><Code>InternalError</Code></Error>")});
    auto removed = open_s3(fake_options(fake))->remove_many(keys);
    REQUIRE_FALSE(removed.ok());
    CHECK(removed.error().code == ErrorCode::storage_unavailable);
    CHECK_THAT(removed.error().detail,
               Catch::Contains("2 of 3 keys not deleted") &&
                   Catch::Contains("chunks/b&c: AccessDenied (Access Denied)") &&
                   !Catch::Contains("chunks/d"));
    CHECK(fake.requests() == 1); // the bucket answered: not retried
}

TEST_CASE("S3Storage: remove_many retries 503 like every request", "[s3]") {
    FakeS3 fake({http_503, http_200});
    auto storage = open_s3(fake_options(fake));
    std::vector<std::string> keys{"chunks/a"};
    CHECK(storage->remove_many(keys).ok());
    CHECK(fake.requests() == 2);

    FakeS3 down({http_503});
    auto options = fake_options(down);
    options.max_attempts = 2;
    auto failed = open_s3(options)->remove_many(keys);
    REQUIRE_FALSE(failed.ok());
    CHECK_THAT(failed.error().detail,
               Catch::Contains("HTTP 503") && Catch::Contains("after 2 attempts"));
}

TEST_CASE("S3Storage: open refuses bad options", "[s3]") {
    S3Options options;
    options.bucket = "b";
    options.access_key_id = "a";
    options.secret_access_key = "s";
    for (std::string endpoint : {"", "ftp://h", "http://", "http://h/path", "http://u:p@h"}) {
        INFO(endpoint);
        options.endpoint = endpoint;
        CHECK(S3Storage::open(options).error().code == ErrorCode::invalid_argument);
    }
    options.endpoint = "http://h:1";
    options.secret_access_key = "";
    CHECK(S3Storage::open(options).error().code == ErrorCode::invalid_argument);
}
