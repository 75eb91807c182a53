#include "client/push_plan.hpp"

#include <algorithm>
#include <unordered_map>

namespace nixedge::lab::client {

bool signed_by_upstream(const LocalPathInfo& info, const std::vector<std::string>& upstream_keys) {
    return std::any_of(info.signatures.begin(), info.signatures.end(), [&](const auto& sig) {
        auto colon = sig.find(':');
        if (colon == std::string::npos)
            return false;
        std::string_view name(sig.data(), colon);
        return std::find(upstream_keys.begin(), upstream_keys.end(), name) != upstream_keys.end();
    });
}

UpstreamFilter filter_upstream(std::vector<LocalPathInfo> closure,
                               const std::vector<std::string>& upstream_keys) {
    UpstreamFilter filter;
    for (auto& info : closure) {
        if (signed_by_upstream(info, upstream_keys))
            ++filter.signed_upstream;
        else
            filter.offered.push_back(std::move(info));
    }
    return filter;
}

std::vector<std::vector<std::string>> hash_batches(const std::vector<LocalPathInfo>& paths,
                                                   std::size_t batch) {
    std::vector<std::vector<std::string>> batches;
    for (std::size_t start = 0; start < paths.size(); start += batch) {
        auto& hashes = batches.emplace_back();
        for (std::size_t i = start; i < std::min(paths.size(), start + batch); ++i)
            hashes.push_back(paths[i].path.hash);
    }
    return batches;
}

bool UploadScheduler::ByLargestNar::operator()(std::size_t a, std::size_t b) const {
    const auto& left = (*paths)[a];
    const auto& right = (*paths)[b];
    if (left.nar_size != right.nar_size)
        return left.nar_size > right.nar_size;
    return left.path < right.path;
}

UploadScheduler::UploadScheduler(std::vector<LocalPathInfo> paths)
    : paths_(std::move(paths)), dependents_(paths_.size()), waiting_on_(paths_.size(), 0),
      skipped_flag_(paths_.size(), false), ready_(ByLargestNar{&paths_}) {
    std::unordered_map<std::string, std::size_t> index_of;
    for (std::size_t i = 0; i < paths_.size(); ++i)
        index_of.emplace(paths_[i].path.full(), i);
    for (std::size_t i = 0; i < paths_.size(); ++i) {
        for (const auto& reference : paths_[i].references) {
            auto found = index_of.find(reference);
            if (found == index_of.end() || found->second == i)
                continue; // already in the cache, upstream, or itself
            dependents_[found->second].push_back(i);
            ++waiting_on_[i];
        }
    }
    for (std::size_t i = 0; i < paths_.size(); ++i)
        if (waiting_on_[i] == 0)
            ready_.insert(i);
}

std::optional<std::size_t> UploadScheduler::next() {
    if (ready_.empty())
        return std::nullopt;
    std::size_t index = *ready_.begin();
    ready_.erase(ready_.begin());
    ++running_;
    return index;
}

void UploadScheduler::make_ready(std::size_t index) {
    if (!skipped_flag_[index] && --waiting_on_[index] == 0)
        ready_.insert(index);
}

void UploadScheduler::skip_dependents(std::size_t failed, std::size_t cause) {
    std::vector<std::size_t> pending{failed}; // a stack: closures can be deep chains
    while (!pending.empty()) {
        std::size_t current = pending.back();
        pending.pop_back();
        for (std::size_t dependent : dependents_[current]) {
            if (skipped_flag_[dependent])
                continue;
            skipped_flag_[dependent] = true;
            skipped_.emplace_back(dependent, cause);
            pending.push_back(dependent);
        }
    }
}

void UploadScheduler::completed(std::size_t index, bool succeeded) {
    --running_;
    if (!succeeded) {
        skip_dependents(index, index);
        return;
    }
    for (std::size_t dependent : dependents_[index])
        make_ready(dependent);
}

} // namespace nixedge::lab::client
