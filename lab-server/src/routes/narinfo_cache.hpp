// Signed narinfo texts kept in memory, for the hottest route: a published
// narinfo never changes, so a hit saves the database read (about a third of
// the server's work per narinfo GET). Only found narinfos are kept (a push
// must be visible at once), for a limited time (a path removed by GC on
// another replica stops being served within it), within a byte budget, the
// least recently used dropped first.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nixedge::lab {

class NarinfoCache {
  public:
    NarinfoCache(std::size_t max_bytes, std::chrono::milliseconds max_age)
        : max_bytes_(max_bytes), max_age_(max_age) {}

    std::optional<std::string> find(std::string_view cache, std::string_view store_hash);
    void insert(std::string_view cache, std::string_view store_hash, std::string narinfo);
    // After this process removed paths (GC): none of them is served again.
    void clear();

  private:
    struct Entry {
        std::string key;
        std::string narinfo;
        std::chrono::steady_clock::time_point stored_at;
    };
    static std::string key_of(std::string_view cache, std::string_view store_hash);
    void evict_until_fits(std::size_t incoming);

    std::size_t max_bytes_;
    std::chrono::milliseconds max_age_;
    std::mutex mutex_;
    std::list<Entry> entries_; // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
    std::size_t bytes_ = 0;
};

} // namespace nixedge::lab
