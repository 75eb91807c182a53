// Garbage collection: `nixedge-server gc` and the server's periodic run
// (docs/lab-server.md, "Garbage collection"). One run:
//
//   1. staged uploads whose narinfo never came stop being staged;
//   2. each cache with a retention removes its expired paths: unpinned, and
//      neither pushed nor read in the lab for the retention. A path that a
//      kept path refers to stays, so every closure the cache serves stays
//      whole; referrers go before what they refer to. The edge objects of a
//      removed path (narinfo, listing) go through the outbox at once;
//   3. NARs unused for longer than the grace period: marked, their manifest
//      objects deleted, then their rows;
//   4. chunks unused for longer than the grace period: claimed by GC (an
//      upload that needs one waits, then stores it anew), their objects
//      deleted, then their rows.
// So the bucket loses a path's narinfo first, then its manifest, then its
// chunks, and the grace period (longer than the sync and the edge's narinfo
// TTL, checked at load) keeps a NAR that an edge may still name in the sync
// plan and in both buckets. Runs of all processes on one database take turns
// (MetadataStore::try_with_gc_lock).
#pragma once

#include "app/lab.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab {

struct GcOptions {
    // How long a NAR or chunk must have been unused (gc.orphan_grace).
    std::chrono::seconds orphan_grace{3 * 3600};
    // Rows per transaction.
    std::size_t batch_size = 500;
    // Object deletions in flight at once.
    std::size_t parallel_deletions = 8;
    // A GC claim or mark older than the store's claim timeout (1 h) can be
    // taken over by an upload; GC stops deleting a batch's objects this long
    // after claiming it, well before that, and leaves the rest to the next run.
    std::chrono::seconds deletion_window{15 * 60};
    // Now and then: a stage ("paths", "nars", "chunks") and what it did so far.
    std::function<void(std::string_view stage, std::uint64_t done)> on_progress;
    // Checked between batches: a server shutting down stops its run there
    // (what is left is the next run's; every step is safe to stop after).
    std::stop_token stop;
};

struct GcReport {
    std::uint64_t staged_expired = 0;
    std::uint64_t paths_removed = 0;
    // Expired paths kept, by reason ("referenced by a kept path", "pinned", ...).
    std::map<std::string, std::uint64_t> paths_kept;
    std::uint64_t nars_deleted = 0;
    std::uint64_t chunks_deleted = 0;
    std::uint64_t chunk_bytes_deleted = 0; // stored (compressed) bytes
    std::chrono::milliseconds duration{0};
    bool skipped = false;     // another process was running GC
    bool interrupted = false; // stopped early (GcOptions::stop)
};

// One line, for logs and the gc_runs row.
std::string format_gc_report(const GcReport& report);

// Runs GC once, unless another process is running it (then skipped). Records
// the run in the database (MetadataStore::record_gc_run).
// `drainer` is the process's (the edge objects of removed paths go through it).
Result<GcReport> run_gc(Lab& lab, OutboxDrainer& drainer, const GcOptions& options);

// The options the config gives.
GcOptions gc_options(const ServerConfig& config);

// Expired paths in an order that removes referrers before what they refer
// to (references to paths outside the list do not constrain it).
std::vector<std::string> referrers_first(const std::vector<ExpiredPath>& expired);

// Removes paths from a cache on an operator's request (`nixedge-server path
// delete`): refused for a path that another path of the cache refers to,
// unless `force`. Their NARs and chunks are left to GC, like any unused ones.
Result<PathRemoval> delete_paths(Lab& lab, OutboxDrainer& drainer, std::string_view cache,
                                 std::span<const std::string> store_hashes, bool force);

} // namespace nixedge::lab
