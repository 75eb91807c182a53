#include "routes/narinfo_cache.hpp"

namespace nixedge::lab {

std::string NarinfoCache::key_of(std::string_view cache, std::string_view store_hash) {
    std::string key;
    key.reserve(cache.size() + 1 + store_hash.size());
    key.append(cache).append("/").append(store_hash);
    return key;
}

std::optional<std::string> NarinfoCache::find(std::string_view cache, std::string_view store_hash) {
    auto key = key_of(cache, store_hash);
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end())
        return std::nullopt;
    if (std::chrono::steady_clock::now() - it->second->stored_at >= max_age_) {
        bytes_ -= it->second->narinfo.size();
        entries_.erase(it->second);
        index_.erase(it);
        return std::nullopt;
    }
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second->narinfo;
}

void NarinfoCache::evict_until_fits(std::size_t incoming) {
    while (!entries_.empty() && bytes_ + incoming > max_bytes_) {
        bytes_ -= entries_.back().narinfo.size();
        index_.erase(entries_.back().key);
        entries_.pop_back();
    }
}

void NarinfoCache::insert(std::string_view cache, std::string_view store_hash,
                          std::string narinfo) {
    if (narinfo.size() > max_bytes_)
        return;
    auto key = key_of(cache, store_hash);
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
        bytes_ -= it->second->narinfo.size();
        entries_.erase(it->second);
        index_.erase(it);
    }
    evict_until_fits(narinfo.size());
    bytes_ += narinfo.size();
    entries_.push_front(Entry{key, std::move(narinfo), std::chrono::steady_clock::now()});
    index_.emplace(std::move(key), entries_.begin());
}

void NarinfoCache::clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
    index_.clear();
    bytes_ = 0;
}

} // namespace nixedge::lab
