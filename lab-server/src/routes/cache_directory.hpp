// Cache settings and keys for every request, without a database read each
// time: rows are kept for a second. Settings change rarely and through other
// processes too (`nixedge-server cache configure`, other replicas), so a short
// expiry rather than invalidation: a change takes effect within a second.
#pragma once

#include "metadata/metadata_store.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace nixedge::lab {

class CacheDirectory {
  public:
    explicit CacheDirectory(std::shared_ptr<MetadataStore> metadata,
                            std::chrono::milliseconds max_age = std::chrono::seconds(1))
        : metadata_(std::move(metadata)), max_age_(max_age) {}

    // nullopt: no such cache (also remembered, for max_age).
    Result<std::optional<Cache>> find(const std::string& name);
    // After this process changed the cache: the next find reads it again.
    void forget(const std::string& name);

  private:
    struct Entry {
        std::optional<Cache> cache;
        std::chrono::steady_clock::time_point read_at;
    };
    // Far more names than any lab has caches means someone is probing: start over.
    static constexpr std::size_t max_entries = 4096;

    std::shared_ptr<MetadataStore> metadata_;
    std::chrono::milliseconds max_age_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

} // namespace nixedge::lab
