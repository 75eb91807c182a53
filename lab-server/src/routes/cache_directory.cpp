#include "routes/cache_directory.hpp"

namespace nixedge::lab {

Result<std::optional<Cache>> CacheDirectory::find(const std::string& name) {
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(name);
        if (it != entries_.end() && now - it->second.read_at < max_age_)
            return it->second.cache;
    }
    auto found = metadata_->get_cache(name);
    if (!found)
        return found.error();
    std::lock_guard lock(mutex_);
    if (entries_.size() >= max_entries)
        entries_.clear();
    entries_.insert_or_assign(name, Entry{*found, now});
    return found;
}

void CacheDirectory::forget(const std::string& name) {
    std::lock_guard lock(mutex_);
    entries_.erase(name);
}

} // namespace nixedge::lab
