#include "client/push.hpp"

#include "client/api_client.hpp"
#include "client/push_plan.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_set>

namespace nixedge::lab::client {
namespace {

// After these no other upload can succeed: stop handing out paths.
bool stops_the_push(const Error& error) {
    switch (error.code) {
    case ErrorCode::unauthorized:
    case ErrorCode::forbidden:
    case ErrorCode::not_found:
    case ErrorCode::unreachable:
        return true;
    default:
        return false;
    }
}

// Worth another try: the server may take it the next time.
bool is_transient(const Error& error) {
    return error.code == ErrorCode::unreachable || error.code == ErrorCode::storage_unavailable ||
           error.code == ErrorCode::internal;
}

attic::UploadPathInfo upload_info(std::string_view cache, const LocalPathInfo& local) {
    attic::UploadPathInfo info;
    info.cache = std::string(cache);
    info.store_path_hash = local.path.hash;
    info.store_path = local.path.full();
    info.references = local.references;
    info.deriver = local.deriver;
    info.sigs = local.signatures;
    info.ca = local.ca;
    info.nar_hash = local.nar_hash;
    info.nar_size = local.nar_size;
    return info;
}

Result<std::vector<LocalPathInfo>> only_missing(ApiClient& api, std::string_view cache,
                                                std::vector<LocalPathInfo> offered,
                                                std::size_t batch) {
    std::unordered_set<std::string> missing;
    for (const auto& hashes : hash_batches(offered, std::max<std::size_t>(batch, 1))) {
        auto answer = api.get_missing_paths(cache, hashes);
        if (!answer)
            return answer.error();
        missing.insert(answer->begin(), answer->end());
    }
    std::erase_if(offered,
                  [&](const LocalPathInfo& info) { return !missing.contains(info.path.hash); });
    return offered;
}

// The upload workers and what they share.
class Uploads {
  public:
    Uploads(const ServerEntry& server, std::string_view cache, const PushOptions& options,
            std::vector<LocalPathInfo> paths, PushProgress& progress, PushSummary& summary)
        : server_(server), cache_(cache), options_(options), scheduler_(std::move(paths)),
          progress_(progress), summary_(summary) {}

    void run() {
        std::uint64_t bytes = 0;
        for (std::size_t i = 0; i < scheduler_.size(); ++i)
            bytes += scheduler_.path(i).nar_size;
        progress_.begin(scheduler_.size(), bytes);
        std::size_t workers = std::clamp<std::size_t>(options_.jobs, 1, scheduler_.size());
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < workers; ++i)
            threads.emplace_back([this] { work(); });
        for (auto& thread : threads)
            thread.join();
        report_skipped();
        progress_.end();
    }

  private:
    void work() {
        ApiClient api(server_);
        std::unique_lock lock(mutex_);
        while (true) {
            std::optional<std::size_t> index;
            changed_.wait(lock, [&] {
                return stopped_ || scheduler_.finished() || (index = scheduler_.next());
            });
            if (!index)
                break;
            const LocalPathInfo& info = scheduler_.path(*index);
            lock.unlock();
            auto result = upload(api, *index, info);
            lock.lock();
            record(*index, info, result);
            changed_.notify_all();
        }
        changed_.notify_all();
    }

    // Transient failures (a dropped connection, a 503) are retried with a
    // fresh NAR stream: the server publishes nothing from a cut upload.
    Result<attic::UploadPathResult> upload(ApiClient& api, std::size_t index,
                                           const LocalPathInfo& info) {
        progress_.started(index, info);
        for (std::size_t attempt = 1;; ++attempt) {
            auto result = upload_once(api, index, info);
            if (result || !is_transient(result.error()) || attempt == options_.attempts)
                return result;
            progress_.retrying(index, info, result.error(), attempt + 1, options_.attempts);
            std::this_thread::sleep_for(options_.retry_pause * attempt);
        }
    }

    Result<attic::UploadPathResult> upload_once(ApiClient& api, std::size_t index,
                                                const LocalPathInfo& info) {
        auto nar = open_nar(options_.store, info);
        if (!nar)
            return nar.error();
        return api.upload_path(upload_info(cache_, info), **nar, options_.force_preamble,
                               [&](std::uint64_t sent) { progress_.sent(index, sent); });
    }

    void record(std::size_t index, const LocalPathInfo& info,
                const Result<attic::UploadPathResult>& result) {
        scheduler_.completed(index, result.ok());
        if (!result) {
            ++summary_.failed;
            summary_.errors.push_back(info.path.full() + ": " + result.error().detail);
            progress_.failed(index, info, result.error());
            if (stops_the_push(result.error()))
                stopped_ = true;
            return;
        }
        (result->kind == attic::UploadKind::deduplicated ? summary_.deduplicated
                                                         : summary_.uploaded)++;
        summary_.bytes_sent += info.nar_size;
        double fraction = result->kind == attic::UploadKind::deduplicated
                              ? 1.0
                              : std::clamp(result->frac_deduplicated.value_or(0.0), 0.0, 1.0);
        summary_.bytes_deduplicated +=
            static_cast<std::uint64_t>(fraction * static_cast<double>(info.nar_size));
        progress_.uploaded(index, info, *result);
    }

    void report_skipped() {
        for (const auto& [index, cause] : scheduler_.skipped())
            progress_.skipped(scheduler_.path(index), scheduler_.path(cause));
        std::size_t ended = summary_.uploaded + summary_.deduplicated + summary_.failed;
        summary_.skipped = scheduler_.size() - ended;
    }

    const ServerEntry& server_;
    std::string cache_;
    const PushOptions& options_;
    UploadScheduler scheduler_;
    PushProgress& progress_;
    PushSummary& summary_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool stopped_ = false;
};

std::string rate_text(std::uint64_t bytes, double seconds) {
    if (seconds <= 0)
        return "";
    return ", " + human_bytes(static_cast<std::uint64_t>(static_cast<double>(bytes) / seconds)) +
           "/s";
}

} // namespace

Result<PushSummary> push_paths(const ServerEntry& server, std::string_view cache,
                               const std::vector<std::string>& roots, const PushOptions& options,
                               PushProgress& progress) {
    auto started = ProgressClock::now();
    std::vector<std::string> store_paths;
    for (const auto& root : roots) {
        auto resolved = resolve_store_path_argument(root);
        if (!resolved)
            return resolved.error();
        store_paths.push_back(std::move(*resolved));
    }
    ApiClient api(server);
    auto config = api.get_cache_config(cache);
    if (!config)
        return config.error();
    auto closure = query_path_infos(options.store, store_paths, options.closure);
    if (!closure)
        return closure.error();
    PushSummary summary;
    summary.closure_paths = closure->size();
    auto upstream_keys =
        options.ignore_upstream_filter
            ? std::vector<std::string>{}
            : config->upstream_cache_key_names.value_or(std::vector<std::string>{});
    auto filtered = filter_upstream(std::move(*closure), upstream_keys);
    summary.signed_upstream = filtered.signed_upstream;
    std::size_t offered = filtered.offered.size();
    auto missing = only_missing(api, cache, std::move(filtered.offered), options.missing_batch);
    if (!missing)
        return missing.error();
    summary.already_cached = offered - missing->size();
    if (!missing->empty()) {
        Uploads uploads(server, cache, options, std::move(*missing), progress, summary);
        uploads.run();
    }
    summary.elapsed = ProgressClock::now() - started;
    return summary;
}

std::string summary_line(const PushSummary& summary) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", summary.elapsed.count());
    std::size_t sent = summary.uploaded + summary.deduplicated;
    std::string line = "pushed " + std::to_string(sent) + " of " +
                       std::to_string(summary.closure_paths) + " paths in " + seconds +
                       " s: " + human_bytes(summary.bytes_sent) + " of NAR sent" +
                       rate_text(summary.bytes_sent, summary.elapsed.count()) + ", " +
                       human_bytes(summary.bytes_deduplicated) + " of it deduplicated; " +
                       std::to_string(summary.already_cached) + " already in the cache, " +
                       std::to_string(summary.signed_upstream) + " signed upstream";
    if (summary.failed > 0)
        line += ", " + std::to_string(summary.failed) + " FAILED";
    if (summary.skipped > 0)
        line += ", " + std::to_string(summary.skipped) + " skipped";
    return line;
}

} // namespace nixedge::lab::client
