// fsck of the objects the edge reads: each one the sync plan lists must hold
// what render_edge_object makes from the database now (the same function
// the outbox's `regenerate` uses), and nothing else may sit under a cache's
// prefix: a private cache's objects, a destroyed cache's, a stale narinfo.
#include "app/fsck_checks.hpp"

#include "nixedge/bucket_layout.hpp"
#include "outbox/edge_objects.hpp"

#include <algorithm>

namespace nixedge::lab::fsck {

namespace {

// An empty plan need not exist (a lab that never had an edge cache has no
// plan to publish); once any cache is on the edge, the mirror depends on it.
bool plan_names_a_cache(const SyncPlan& plan) {
    return std::any_of(plan.mutable_keys.begin(), plan.mutable_keys.end(),
                       [](const std::string& key) { return key != bucket_key::layout_marker(); });
}

Mender write(Storage& storage, const std::string& key, std::string bytes, std::string action) {
    return [&storage, key, bytes = std::move(bytes), action = std::move(action)]() -> Result<Mend> {
        if (auto put = storage.put(key, as_bytes(bytes)); !put)
            return put.error();
        return Mend{action, true};
    };
}

} // namespace

EdgeCheck::EdgeCheck(FsckRun& run, const SyncPlan& plan) : run_(run) {
    for (const auto& key : plan.mutable_keys)
        expected_.emplace(key, false);
    if (plan_names_a_cache(plan))
        expected_.emplace(bucket_key::sync_plan(), false);
}

Result<void> EdgeCheck::object(const std::string& key) {
    if (auto it = expected_.find(key); it != expected_.end())
        it->second = true;
    return compare(key);
}

Result<void> EdgeCheck::finish() {
    std::vector<std::string> unmet;
    for (const auto& [key, met] : expected_)
        if (!met)
            unmet.push_back(key);
    std::sort(unmet.begin(), unmet.end()); // a stable report
    for (const auto& key : unmet)
        if (auto ok = compare(key); !ok)
            return ok;
    return {};
}

// Rendered now rather than taken from the plan read at the start, so a path
// published during the run is compared with its own narinfo, not reported.
Result<void> EdgeCheck::compare(const std::string& key) {
    ++run_.report().edge_objects_checked;
    auto rendered = render_edge_object(run_.metadata(), key);
    if (!rendered)
        return rendered.error();
    auto& storage = run_.storage();
    if (!*rendered) {
        auto exists = storage.exists(key);
        if (!exists)
            return exists.error();
        if (!*exists)
            return {};
        return run_.found(FsckFindingKind::edge_unlisted, key,
                          "the sync plan does not list it (a private or destroyed cache, or a "
                          "path that is gone)",
                          [&storage, key]() -> Result<Mend> {
                              if (auto removed = storage.remove(key); !removed)
                                  return removed.error();
                              return Mend{"removed", true};
                          });
    }
    const std::string& expected = **rendered;
    auto stored = read_object(storage, key, expected.size());
    if (!stored && stored.error().code == ErrorCode::not_found)
        return run_.found(FsckFindingKind::edge_missing, key, "the sync plan lists it; no object",
                          write(storage, key, expected, "written from the database"));
    if (!stored && stored.error().code != ErrorCode::limit_exceeded)
        return stored.error();
    if (!stored || as_chars(*stored) != std::string_view(expected))
        return run_.found(FsckFindingKind::edge_differs, key,
                          "the object is not what the database renders (" +
                              std::to_string(expected.size()) + " bytes)",
                          write(storage, key, expected, "rewritten from the database"));
    return {};
}

} // namespace nixedge::lab::fsck
