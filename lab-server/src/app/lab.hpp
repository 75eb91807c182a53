// The lab server's state as one value: the configuration, the metadata
// database and the object storage, opened from a ServerConfig. Every entry
// point (`serve`, the admin subcommands, fsck, tests) goes through open_lab,
// so they all see the same data directory the same way.
#pragma once

#include "config/server_config.hpp"
#include "metadata/metadata_store.hpp"
#include "nixedge/keys.hpp"
#include "outbox/outbox_drainer.hpp"
#include "storage/object_lister.hpp"
#include "storage/storage.hpp"

#include <memory>
#include <string_view>

namespace nixedge::lab {

struct Lab {
    ServerConfig config;
    std::shared_ptr<MetadataStore> metadata;
    std::shared_ptr<Storage> storage;
    // The same bucket, listed by maintenance only (fsck); see object_lister.hpp.
    std::shared_ptr<ObjectLister> lister;
};

// Creates the data directory if needed, opens (and migrates) the database and
// the bucket. storage_unavailable / database_unavailable with the path in the
// detail when that fails (these are operator-facing errors).
Result<Lab> open_lab(const ServerConfig& config);

// A fresh Ed25519 signing key named `key_name` (e.g. "main-1"), from the
// operating system's random generator.
Result<SecretKey> generate_signing_key(std::string_view key_name);

// The key name a new cache gets: "<cache>-1", like Attic's "<cache>-1" names
// are recognisable in trusted-public-keys lists.
std::string default_key_name(std::string_view cache_name);

// Brings the bucket up to date with the database: writes the layout marker,
// then everything the outbox owes (through `drainer`, the process's one).
// The server does it at start-up; the cache commands after each change.
Result<void> update_bucket(Lab& lab, OutboxDrainer& drainer);

// The settings a new cache gets from the [caches] defaults of the config.
CacheSettings default_cache_settings(const ServerConfig& config);

} // namespace nixedge::lab
