#include "app/lab.hpp"

#include "metadata/postgres_metadata_store.hpp"
#include "metadata/sqlite_metadata_store.hpp"
#include "nixedge/bucket_layout.hpp"
#include "storage/local_storage.hpp"

#include <openssl/rand.h>

#include <array>
#include <filesystem>
#include <system_error>

namespace nixedge::lab {

namespace {

// database.url picks the store: postgresql:// (or postgres://) or a SQLite
// file. Messages name the database without the URL's password.
Result<std::shared_ptr<MetadataStore>> open_metadata(const ServerConfig& config) {
    if (config.database.is_postgres()) {
        auto store = PostgresMetadataStore::open(config.database.url);
        if (!store)
            return Error{store.error().code, "cannot open the database: " + store.error().detail};
        return std::shared_ptr<MetadataStore>(std::move(*store));
    }
    auto database = config.database.sqlite_file();
    auto store = SqliteMetadataStore::open(database);
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
    auto storage = LocalStorage::open(config.storage.path);
    if (!storage)
        return Error{storage.error().code, "cannot open the bucket directory " +
                                               config.storage.path.string() + ": " +
                                               storage.error().detail};
    std::shared_ptr<LocalStorage> bucket = std::move(*storage);
    return Lab{config, std::move(*metadata), bucket, bucket};
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
