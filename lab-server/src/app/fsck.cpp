// The fsck driver: the outbox first (its pending writes are differences the
// server already knows about; repair drains them, so what follows compares
// against a bucket the outbox has caught up with), then one listing of the
// whole bucket handed to the check of each key's kind, then what the
// listing lacked.
#include "app/fsck.hpp"

#include "app/fsck_checks.hpp"
#include "config/duration.hpp"
#include "nixedge/bucket_layout.hpp"
#include "outbox/outbox_drainer.hpp"

#include <algorithm>
#include <map>

namespace nixedge::lab {

namespace {

// Entries of the outbox reported one by one; a repair drains them all.
constexpr std::size_t outbox_listed = 1000;
constexpr std::uint64_t progress_every = 100'000;

std::string seconds_text(std::int64_t seconds) {
    return seconds <= 0 ? "0s" : format_duration(Seconds{seconds});
}

} // namespace

std::string_view to_string(FsckFindingKind kind) {
    switch (kind) {
    case FsckFindingKind::outbox_pending:
        return "outbox-pending";
    case FsckFindingKind::chunk_missing:
        return "chunk-missing";
    case FsckFindingKind::chunk_wrong_size:
        return "chunk-wrong-size";
    case FsckFindingKind::chunk_corrupt:
        return "chunk-corrupt";
    case FsckFindingKind::chunk_awaiting_upload:
        return "chunk-awaiting-upload";
    case FsckFindingKind::nar_broken:
        return "nar-broken";
    case FsckFindingKind::manifest_missing:
        return "manifest-missing";
    case FsckFindingKind::manifest_differs:
        return "manifest-differs";
    case FsckFindingKind::manifest_inconsistent:
        return "manifest-inconsistent";
    case FsckFindingKind::edge_missing:
        return "edge-missing";
    case FsckFindingKind::edge_differs:
        return "edge-differs";
    case FsckFindingKind::edge_unlisted:
        return "edge-unlisted";
    case FsckFindingKind::orphan:
        return "orphan";
    case FsckFindingKind::unknown_object:
        return "unknown-object";
    }
    return "unknown";
}

std::string format_finding(const FsckFinding& finding) {
    std::string line =
        std::string(to_string(finding.kind)) + " " + finding.key + ": " + finding.problem;
    if (!finding.action.empty())
        line += " -> " + finding.action;
    return line;
}

std::size_t FsckReport::repaired() const {
    return static_cast<std::size_t>(std::count_if(findings.begin(), findings.end(),
                                                  [](const FsckFinding& f) { return f.repaired; }));
}

std::size_t FsckReport::count(FsckFindingKind kind) const {
    return static_cast<std::size_t>(std::count_if(
        findings.begin(), findings.end(), [kind](const FsckFinding& f) { return f.kind == kind; }));
}

std::string format_summary(const FsckReport& report) {
    std::string text = "listed " + std::to_string(report.objects_listed) + " objects; checked " +
                       std::to_string(report.chunks_checked) + " chunks, " +
                       std::to_string(report.manifests_checked) + " manifests, " +
                       std::to_string(report.edge_objects_checked) + " edge objects\n";
    if (report.findings.empty())
        return text + "no differences\n";
    std::map<std::string_view, std::size_t> by_kind;
    for (const auto& finding : report.findings)
        ++by_kind[to_string(finding.kind)];
    std::string kinds;
    for (const auto& [kind, n] : by_kind)
        kinds += (kinds.empty() ? "" : ", ") + std::string(kind) + " " + std::to_string(n);
    return text + std::to_string(report.findings.size()) + " differences (" + kinds +
           "): " + std::to_string(report.repaired()) + " repaired, " +
           std::to_string(report.remaining()) + " remaining\n";
}

namespace fsck {

Result<void> FsckRun::found(FsckFindingKind kind, std::string key, std::string problem,
                            const Mender& mend) {
    FsckFinding finding{kind, std::move(key), std::move(problem), {}, false};
    if (options_.repair && mend) {
        auto mended = mend();
        if (!mended)
            return Error{mended.error().code,
                         "repairing " + finding.key + ": " + mended.error().detail};
        finding.action = std::move(mended->action);
        finding.repaired = mended->repaired;
    }
    if (options_.on_finding)
        options_.on_finding(finding);
    report_.findings.push_back(std::move(finding));
    return {};
}

Result<void> FsckRun::orphan(const std::string& key, const ObjectInfo& info) {
    auto& storage = *lab_.storage;
    const auto grace = options_.orphan_grace;
    auto mend = [&]() -> Result<Mend> {
        if (!info.last_modified)
            return Mend{"kept: the storage does not tell its age", false};
        auto age = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::system_clock::now() - *info.last_modified);
        if (age < grace)
            return Mend{"kept: written " + seconds_text(age.count()) +
                            " ago, within the grace period of " + seconds_text(grace.count()),
                        false};
        if (auto removed = storage.remove(key); !removed)
            return removed.error();
        return Mend{"removed", true};
    };
    return found(FsckFindingKind::orphan, key,
                 "no database row knows this object (" + std::to_string(info.size) + " bytes)",
                 mend);
}

Mender cannot_repair(std::string what_will) {
    return [text = "not repairable by fsck; needs " + std::move(what_will)]() -> Result<Mend> {
        return Mend{text, false};
    };
}

namespace {

std::string outbox_problem(const OutboxEntry& entry) {
    std::string problem = std::string(to_string(entry.op)) + " owed to the bucket";
    if (entry.attempts > 0)
        problem += " (" + std::to_string(entry.attempts) +
                   " failed attempts; last: " + entry.last_error + ")";
    return problem;
}

// Pending entries are reported; repair drains them before anything is
// compared, so that the checks see what the outbox was going to write.
Result<void> check_outbox(FsckRun& run) {
    auto pending = run.metadata().pending_outbox(outbox_listed);
    if (!pending)
        return pending.error();
    if (pending->empty())
        return {};
    if (run.options().repair) {
        OutboxDrainer drainer(run.lab().metadata, run.lab().storage);
        if (auto drained = drainer.drain(); !drained)
            return Error{drained.error().code, "draining the outbox: " + drained.error().detail};
    }
    auto mend = [&]() -> Result<Mend> { return Mend{"drained", true}; };
    for (const auto& entry : *pending)
        if (auto ok =
                run.found(FsckFindingKind::outbox_pending, entry.key, outbox_problem(entry), mend);
            !ok)
            return ok;
    if (pending->size() < outbox_listed)
        return {};
    return run.found(FsckFindingKind::outbox_pending, "outbox",
                     "more entries pending than the " + std::to_string(outbox_listed) + " listed",
                     mend);
}

// Sends each listed object to the check of its kind, in key order.
class BucketWalk {
  public:
    BucketWalk(FsckRun& run, const SyncPlan& plan)
        : run_(run), chunks_(run), manifests_(run), edge_(run, plan) {}

    Result<void> visit(const ObjectInfo& info) {
        auto listed = ++run_.report().objects_listed;
        if (listed % progress_every == 0 && run_.options().on_progress)
            run_.options().on_progress("bucket", listed);
        std::string key(info.key);
        auto parsed = parse_object_key(key);
        if (!parsed)
            return run_.found(FsckFindingKind::unknown_object, key,
                              "the bucket layout names no such key (" + std::to_string(info.size) +
                                  " bytes)",
                              cannot_repair("a person: fsck removes only what it knows"));
        switch (parsed->kind) {
        case ObjectKind::chunk:
            return chunks_.object(parsed->hash, info);
        case ObjectKind::manifest:
            return manifests_.object(parsed->hash, info);
        case ObjectKind::sync_status:
            return {}; // the sync job's, not the database's
        case ObjectKind::layout_marker:
        case ObjectKind::nix_cache_info:
        case ObjectKind::narinfo:
        case ObjectKind::listing:
        case ObjectKind::sync_plan:
            break;
        }
        return edge_.object(key);
    }

    Result<void> finish() {
        if (auto ok = chunks_.finish(); !ok)
            return ok;
        if (auto ok = manifests_.finish(); !ok)
            return ok;
        return edge_.finish();
    }

  private:
    FsckRun& run_;
    ChunkCheck chunks_;
    ManifestCheck manifests_;
    EdgeCheck edge_;
};

} // namespace
} // namespace fsck

Result<FsckReport> run_fsck(Lab& lab, const FsckOptions& options) {
    if (!lab.lister)
        return make_error(ErrorCode::storage_unavailable, "this storage cannot list its objects");
    fsck::FsckRun run(lab, options);
    auto progress = [&](std::string_view stage) {
        if (options.on_progress)
            options.on_progress(stage, run.report().objects_listed);
    };
    progress("outbox");
    if (auto ok = fsck::check_outbox(run); !ok)
        return ok.error();
    auto plan = lab.metadata->edge_plan();
    if (!plan)
        return plan.error();
    progress("bucket");
    fsck::BucketWalk walk(run, *plan);
    if (auto listed =
            lab.lister->list("", [&](const ObjectInfo& info) { return walk.visit(info); });
        !listed)
        return listed.error();
    progress("database");
    if (auto ok = walk.finish(); !ok)
        return ok.error();
    progress("done");
    return std::move(run.report());
}

} // namespace nixedge::lab
