#include "app/lab.hpp"

#include "metadata/postgres_metadata_store.hpp"
#include "metadata/sqlite_metadata_store.hpp"
#include "nixedge/bucket_layout.hpp"
#include "storage/local_storage.hpp"
#include "storage/s3_storage.hpp"

#include <openssl/rand.h>

#include <array>
#include <filesystem>
#include <system_error>

namespace nixedge::lab {

namespace {

struct Bucket {
    std::shared_ptr<Storage> storage;
    std::shared_ptr<ObjectLister> lister;
};

template <class Backend> Bucket bucket_of(std::unique_ptr<Backend> backend) {
    std::shared_ptr<Backend> shared = std::move(backend);
    return Bucket{shared, shared};
}

Result<Bucket> open_storage(const ServerConfig::Storage& config) {
    if (config.type == StorageType::local) {
        auto storage = LocalStorage::open(config.path);
        if (!storage)
            return Error{storage.error().code, "cannot open the bucket directory " +
                                                   config.path.string() + ": " +
                                                   storage.error().detail};
        return bucket_of(std::move(*storage));
    }
    const auto& s3 = config.s3;
    S3Options options;
    options.endpoint = s3.endpoint;
    options.region = s3.region;
    options.bucket = s3.bucket;
    options.path_style = s3.addressing == S3Addressing::path;
    options.access_key_id = s3.access_key_id;
    options.secret_access_key = s3.secret_access_key;
    options.missing_on_403 = s3.missing_on_403;
    options.max_idle_connections = s3.max_idle_connections;
    options.max_attempts = s3.max_attempts;
    options.connect_timeout = s3.connect_timeout;
    options.request_timeout = s3.request_timeout;
    auto storage = S3Storage::open(std::move(options));
    if (!storage)
        return storage.error();
    // Fail at start with the cause, not at the first push.
    if (auto reachable = (*storage)->check_bucket(); !reachable)
        return Error{reachable.error().code, "cannot use the S3 bucket " + s3.bucket + " at " +
                                                 s3.endpoint + ": " + reachable.error().detail};
    return bucket_of(std::move(*storage));
}

// database.url picks the store: postgresql:// (or postgres://) or a SQLite
// file. Messages name the database without the URL's password.
Result<std::shared_ptr<MetadataStore>> open_metadata(const ServerConfig& config) {
    if (config.database.is_postgres()) {
        PostgresMetadataOptions options;
        options.max_connections = config.database.max_connections;
        auto store = PostgresMetadataStore::open(config.database.url, std::move(options));
        if (!store)
            return Error{store.error().code, "cannot open the database: " + store.error().detail};
        return std::shared_ptr<MetadataStore>(std::move(*store));
    }
    auto database = config.database.sqlite_file();
    SqliteMetadataOptions options;
    options.max_connections = config.database.max_connections;
    auto store = SqliteMetadataStore::open(database, std::move(options));
    if (!store)
        return Error{store.error().code,
                     "cannot open the database " + database.string() + ": " + store.error().detail};
    return std::shared_ptr<MetadataStore>(std::move(*store));
}

} // namespace

Result<Lab> open_lab(const ServerConfig& config) {
    std::error_code ec;
    std::filesystem::create_directories(config.server.data_dir, ec);
    if (ec)
        return Error{ErrorCode::storage_unavailable, "cannot create the data directory " +
                                                         config.server.data_dir.string() + ": " +
                                                         ec.message()};
    auto metadata = open_metadata(config);
    if (!metadata)
        return metadata.error();
    auto bucket = open_storage(config.storage);
    if (!bucket)
        return bucket.error();
    return Lab{config, std::move(*metadata), bucket->storage, bucket->lister};
}

Result<void> update_bucket(Lab& lab, OutboxDrainer& drainer) {
    if (auto marked = lab.storage->put(bucket_key::layout_marker(), as_bytes(layout_marker_text()));
        !marked)
        return marked;
    if (auto drained = drainer.drain(); !drained)
        return drained.error();
    return {};
}

Result<SecretKey> generate_signing_key(std::string_view key_name) {
    std::array<unsigned char, 32> seed{};
    if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1)
        return Error{ErrorCode::internal, "the random generator failed"};
    auto key = secret_key_from_seed(
        key_name, ByteView(reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size()));
    OPENSSL_cleanse(seed.data(), seed.size());
    return key;
}

std::string default_key_name(std::string_view cache_name) {
    return std::string(cache_name) + "-1";
}

CacheSettings default_cache_settings(const ServerConfig& config) {
    CacheSettings settings;
    settings.priority = config.caches.default_priority;
    settings.retention_seconds = config.caches.default_retention.count();
    return settings;
}

} // namespace nixedge::lab
