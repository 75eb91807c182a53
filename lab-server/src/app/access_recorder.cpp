#include "app/access_recorder.hpp"

#include <vector>

namespace nixedge::lab {

namespace {

constexpr std::size_t hashes_per_transaction = 500;

} // namespace

void AccessRecorder::record(std::string_view cache, std::string_view store_hash) {
    std::lock_guard lock(mutex_);
    auto found = reads_.find(cache);
    if (found == reads_.end())
        found = reads_.emplace(std::string(cache), std::set<std::string>{}).first;
    found->second.emplace(store_hash);
}

Result<void> AccessRecorder::flush(MetadataStore& metadata, UnixTime now) {
    Reads reads;
    {
        std::lock_guard lock(mutex_);
        reads.swap(reads_);
    }
    for (auto cache = reads.begin(); cache != reads.end(); ++cache) {
        std::vector<std::string> hashes(cache->second.begin(), cache->second.end());
        for (std::size_t first = 0; first < hashes.size(); first += hashes_per_transaction) {
            auto batch = std::span(hashes).subspan(
                first, std::min(hashes_per_transaction, hashes.size() - first));
            auto written = metadata.record_access(cache->first, batch, now);
            // A cache destroyed since: its reads are moot.
            if (!written && written.error().code != ErrorCode::not_found) {
                std::lock_guard lock(mutex_);
                for (auto rest = cache; rest != reads.end(); ++rest)
                    reads_[rest->first].merge(rest->second);
                return written.error();
            }
        }
    }
    return {};
}

} // namespace nixedge::lab
