// `nixedge-server fsck [--repair]`: finds, and on request mends, every
// difference between the metadata database (the source of truth, DESIGN.md
// invariant 1) and the bucket. docs/lab-server.md ("fsck") is the operator's
// description; this is the one place that decides what a difference is.
//
// One listing of the whole bucket, in key order, merged with the database's
// chunks and NARs read in pages in the same order, so a cache of millions of
// chunks costs one pass and bounded memory (the edge objects of the sync plan
// are held, as the plan itself is). Without repair nothing is written, so it
// is safe on a live server; with repair it writes and deletes objects and
// resets chunk rows, which is meant for a stopped server (its outbox drain
// would otherwise race with the server's).
#pragma once

#include "app/lab.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab {

enum class FsckFindingKind {
    outbox_pending,        // a bucket write or delete the outbox still owes
    chunk_missing,         // recorded as stored; no object
    chunk_wrong_size,      // the object is not stored_size bytes
    chunk_corrupt,         // (verify_content) the frame does not decode to its hash and raw size
    chunk_awaiting_upload, // reset for re-upload earlier; NARs wait for its content
    nar_broken,            // a NAR (and its paths) that cannot be served until a chunk is back
    manifest_missing,      // a recorded NAR without its manifest object
    manifest_differs,      // the object is not the manifest the database rebuilds
    manifest_inconsistent, // the database rebuilds a manifest whose hash is not its name
    edge_missing,          // an edge object the sync plan lists is not in the bucket
    edge_differs,          // an edge object is not what the database renders
    edge_unlisted,         // an object under a cache (or sync/plan) that should not exist
    orphan,                // a chunk or manifest object no database row knows
    unknown_object,        // a key the bucket layout does not name
};

// "chunk-missing", "edge-unlisted", ...: the first word of a report line.
std::string_view to_string(FsckFindingKind kind);

struct FsckFinding {
    FsckFindingKind kind = FsckFindingKind::unknown_object;
    std::string key;     // the bucket key concerned (a narinfo key for a broken path)
    std::string problem; // what differs
    std::string action;  // what repair did, or why it did nothing; empty without repair
    bool repaired = false;
};

// "<kind> <key>: <problem>[ -> <action>]", the line the CLI prints.
std::string format_finding(const FsckFinding& finding);

struct FsckOptions {
    bool repair = false;
    // Also read every stored chunk, decompress it and check its SHA-256 and
    // raw size (costs a read of the whole bucket); otherwise only sizes.
    bool verify_content = false;
    // Repair removes an orphan only once it is this old: a manifest is written
    // before its NAR row, and a database restored from a backup may be about
    // to learn of recent objects again. An orphan whose age the storage
    // cannot tell is only reported.
    std::chrono::seconds orphan_grace{3600};
    // Each finding as soon as it is made (and repaired), for a long run's
    // output; the report keeps them all as well.
    std::function<void(const FsckFinding&)> on_finding;
    // How far the run is: a stage name ("outbox", "bucket", ...) and the
    // objects listed so far, now and then.
    std::function<void(std::string_view stage, std::uint64_t objects_listed)> on_progress;
};

struct FsckReport {
    std::vector<FsckFinding> findings;
    std::uint64_t objects_listed = 0;
    std::uint64_t chunks_checked = 0;    // database rows
    std::uint64_t manifests_checked = 0; // database rows
    std::uint64_t edge_objects_checked = 0;

    std::size_t repaired() const;
    std::size_t remaining() const { return findings.size() - repaired(); }
    // Nothing differs, or everything that did was repaired.
    bool clean() const { return remaining() == 0; }
    std::size_t count(FsckFindingKind kind) const;
};

// Two lines: what was checked, then "no differences" or the counts by kind
// and how many were repaired.
std::string format_summary(const FsckReport& report);

// Errors are failures to look (the database or the storage failed, the
// storage cannot list): differences are findings, not errors.
Result<FsckReport> run_fsck(Lab& lab, const FsckOptions& options);

} // namespace nixedge::lab
