#include "app/gc.hpp"

#include "nixedge/bucket_layout.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace nixedge::lab {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Keys per Storage::remove_many call: S3's DeleteObjects takes up to 1000.
constexpr std::size_t min_deletion_slice = 50;
constexpr std::size_t max_deletion_slice = 1000;

// "referenced by /nix/store/..." names the referrer; reports count by kind.
std::string reason_kind(const std::string& reason) {
    return reason.starts_with("referenced by ") ? "referenced by a kept path" : reason;
}

// Deletes objects in slices of keys, one Storage::remove_many each (a
// DeleteObjects request on S3), with up to `parallel` slices in flight, each
// started only before `deadline`. The first failure is returned; deleting a
// missing object is not one.
Result<void> remove_objects(Storage& storage, const std::vector<std::string>& keys,
                            std::size_t parallel, SteadyClock::time_point deadline) {
    parallel = std::max<std::size_t>(parallel, 1);
    // A slice for each worker, none over what one request can take.
    const auto slice = std::clamp<std::size_t>((keys.size() + parallel - 1) / parallel,
                                               min_deletion_slice, max_deletion_slice);
    std::atomic<std::size_t> next{0};
    std::mutex failure_mutex;
    std::optional<Error> failure;
    auto work = [&] {
        for (;;) {
            auto first = next.fetch_add(slice);
            if (first >= keys.size())
                return;
            Result<void> removed;
            if (SteadyClock::now() > deadline)
                removed = make_error(ErrorCode::storage_unavailable,
                                     "deleting objects took longer than GC's deletion window; "
                                     "the next run finishes the batch");
            else
                removed = storage.remove_many(
                    std::span(keys).subspan(first, std::min(slice, keys.size() - first)));
            if (!removed) {
                std::lock_guard lock(failure_mutex);
                if (!failure)
                    failure = removed.error();
                next = keys.size(); // stop the others
                return;
            }
        }
    };
    std::vector<std::jthread> workers;
    for (std::size_t i = 1; i < std::min(parallel, (keys.size() + slice - 1) / slice); ++i)
        workers.emplace_back(work);
    work();
    workers.clear(); // joins
    if (failure)
        return *failure;
    return {};
}

class GcRunner {
  public:
    GcRunner(Lab& lab, OutboxDrainer& drainer, const GcOptions& options)
        : lab_(lab), metadata_(*lab.metadata), drainer_(drainer), options_(options) {}

    Result<GcReport> run() {
        const auto started = SteadyClock::now();
        now_ = system_clock_now();
        unused_before_ = now_ - options_.orphan_grace.count();
        auto expired = metadata_.expire_staged(now_);
        if (!expired)
            return expired.error();
        report_.staged_expired = *expired;
        for (auto step : {&GcRunner::remove_expired_paths, &GcRunner::delete_unused_nars,
                          &GcRunner::delete_unused_chunks})
            if (auto ok = (this->*step)(); !ok)
                return ok.error();
        report_.duration =
            std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
        return report_;
    }

  private:
    bool stopping() {
        if (options_.stop.stop_requested())
            report_.interrupted = true;
        return report_.interrupted;
    }

    void progress(std::string_view stage, std::uint64_t done) {
        if (options_.on_progress)
            options_.on_progress(stage, done);
    }

    Result<void> drain() {
        auto drained = drainer_.drain();
        if (!drained)
            return Error{drained.error().code,
                         "writing edge objects to the bucket: " + drained.error().detail};
        return {};
    }

    Result<void> remove_expired_paths() {
        auto caches = metadata_.list_caches();
        if (!caches)
            return caches.error();
        for (const auto& cache : *caches)
            if (cache.settings.retention_seconds > 0)
                if (auto ok = remove_expired_paths(cache); !ok)
                    return ok;
        // The removed paths' narinfos leave the bucket before any NAR does.
        return drain();
    }

    Result<void> remove_expired_paths(const Cache& cache) {
        PathRemovalRules rules;
        rules.expired_before = now_ - cache.settings.retention_seconds;
        rules.keep_referenced = true;
        rules.edge_keep_until = now_ + options_.orphan_grace.count();
        auto expired = metadata_.expired_paths(cache.name, *rules.expired_before);
        if (!expired)
            return expired.error();
        const auto order = referrers_first(*expired);
        for (std::size_t first = 0; first < order.size() && !stopping();
             first += options_.batch_size) {
            auto batch = std::span(order).subspan(
                first, std::min(options_.batch_size, order.size() - first));
            auto removal = metadata_.remove_paths(cache.name, batch, rules);
            if (!removal)
                return removal.error();
            report_.paths_removed += removal->removed.size();
            for (const auto& kept : removal->kept)
                ++report_.paths_kept[reason_kind(kept.reason)];
            progress("paths", report_.paths_removed);
        }
        return {};
    }

    Result<void> delete_unused_nars() {
        while (!stopping()) {
            auto marked = metadata_.mark_nars_for_deletion(unused_before_, options_.batch_size);
            if (!marked)
                return marked.error();
            if (marked->empty())
                return {};
            // The sync plan stops listing them before their objects go.
            if (auto ok = drain(); !ok)
                return ok;
            std::vector<std::string> keys;
            for (const auto& hash : *marked)
                keys.push_back(bucket_key::manifest(hash));
            if (auto ok = remove_objects(*lab_.storage, keys, options_.parallel_deletions,
                                         SteadyClock::now() + options_.deletion_window);
                !ok)
                return ok;
            auto deleted = metadata_.delete_marked_nars(*marked);
            if (!deleted)
                return deleted.error();
            report_.nars_deleted += *deleted;
            progress("nars", report_.nars_deleted);
        }
        return {};
    }

    Result<void> delete_unused_chunks() {
        while (!stopping()) {
            auto claimed = metadata_.claim_chunks_for_deletion(unused_before_, options_.batch_size);
            if (!claimed)
                return claimed.error();
            if (claimed->empty())
                return {};
            std::vector<std::string> keys;
            for (const auto& chunk : *claimed)
                keys.push_back(bucket_key::chunk(chunk.hash));
            if (auto ok = remove_objects(*lab_.storage, keys, options_.parallel_deletions,
                                         SteadyClock::now() + options_.deletion_window);
                !ok)
                return ok;
            auto deleted = metadata_.delete_claimed_chunks(*claimed);
            if (!deleted)
                return deleted.error();
            report_.chunks_deleted += *deleted;
            for (const auto& chunk : *claimed)
                report_.chunk_bytes_deleted += chunk.stored_size;
            progress("chunks", report_.chunks_deleted);
        }
        return {};
    }

    Lab& lab_;
    MetadataStore& metadata_;
    OutboxDrainer& drainer_;
    const GcOptions& options_;
    UnixTime now_ = 0;
    UnixTime unused_before_ = 0;
    GcReport report_;
};

} // namespace

std::string format_gc_report(const GcReport& report) {
    if (report.skipped)
        return "skipped: another process is running GC";
    std::string kept;
    for (const auto& [reason, count] : report.paths_kept)
        kept += (kept.empty() ? "" : ", ") + std::to_string(count) + " " + reason;
    return "removed " + std::to_string(report.paths_removed) + " expired paths" +
           (kept.empty() ? "" : " (kept: " + kept + ")") + ", " +
           std::to_string(report.nars_deleted) + " NARs, " + std::to_string(report.chunks_deleted) +
           " chunks (" + std::to_string(report.chunk_bytes_deleted) + " bytes), " +
           std::to_string(report.staged_expired) + " expired staged uploads in " +
           std::to_string(report.duration.count()) + " ms" +
           (report.interrupted ? " (stopped early; the next run goes on)" : "");
}

Result<GcReport> run_gc(Lab& lab, OutboxDrainer& drainer, const GcOptions& options) {
    GcReport report;
    report.skipped = true;
    auto ran = lab.metadata->try_with_gc_lock([&]() -> Result<void> {
        GcRun record{system_clock_now(), std::nullopt, false, "running"};
        if (auto ok = lab.metadata->record_gc_run(record); !ok)
            return ok;
        auto result = GcRunner(lab, drainer, options).run();
        record.finished_at = system_clock_now();
        record.succeeded = result.ok();
        record.summary = result ? format_gc_report(*result) : result.error().detail;
        if (auto ok = lab.metadata->record_gc_run(record); !ok)
            return ok;
        if (!result)
            return result.error();
        report = std::move(result).value();
        return {};
    });
    if (!ran)
        return ran.error();
    return report;
}

GcOptions gc_options(const ServerConfig& config) {
    GcOptions options;
    options.orphan_grace = config.gc.orphan_grace;
    return options;
}

std::vector<std::string> referrers_first(const std::vector<ExpiredPath>& expired) {
    // Kahn's algorithm over the references among the expired paths.
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < expired.size(); ++i)
        index.emplace(expired[i].store_hash, i);
    std::vector<std::size_t> referrers(expired.size(), 0);
    for (const auto& path : expired)
        for (const auto& reference : path.references)
            if (auto found = index.find(reference);
                found != index.end() && reference != path.store_hash)
                ++referrers[found->second];
    std::deque<std::size_t> ready;
    for (std::size_t i = 0; i < expired.size(); ++i)
        if (referrers[i] == 0)
            ready.push_back(i);
    std::vector<std::string> order;
    std::vector<bool> placed(expired.size(), false);
    while (!ready.empty()) {
        auto i = ready.front();
        ready.pop_front();
        placed[i] = true;
        order.push_back(expired[i].store_hash);
        for (const auto& reference : expired[i].references)
            if (auto found = index.find(reference);
                found != index.end() && reference != expired[i].store_hash)
                if (--referrers[found->second] == 0)
                    ready.push_back(found->second);
    }
    // A cycle (Nix makes none) goes last: its paths keep each other.
    for (std::size_t i = 0; i < expired.size(); ++i)
        if (!placed[i])
            order.push_back(expired[i].store_hash);
    return order;
}

Result<PathRemoval> delete_paths(Lab& lab, OutboxDrainer& drainer, std::string_view cache,
                                 std::span<const std::string> store_hashes, bool force) {
    PathRemovalRules rules;
    rules.keep_referenced = !force;
    rules.edge_keep_until = system_clock_now() + lab.config.gc.orphan_grace.count();
    auto removal = lab.metadata->remove_paths(cache, store_hashes, rules);
    if (!removal)
        return removal.error();
    if (auto drained = drainer.drain(); !drained)
        return Error{drained.error().code,
                     "writing edge objects to the bucket: " + drained.error().detail};
    return removal;
}

} // namespace nixedge::lab
