// `nixedge push`: a closure from the local Nix store into a cache, through
// Attic's API. In order: the cache's config (its upstream keys; a bad token
// or a missing cache stops here, before any work), the closure
// (`nix path-info --recursive`), the paths signed upstream left out, the
// paths the server has left out (get-missing-paths, batched), then the
// uploads: `jobs` at a time, each streaming its NAR into one
// upload-path request, never holding a NAR in memory (read from the file
// system for a store on this machine, else from `nix store dump-path`:
// nix_store.hpp), a transient failure retried. The server acknowledges
// a path only once it is durable, so a push cut short anywhere leaves
// complete paths published and nothing half-published; pushing again sends
// only what is still missing.
#pragma once

#include "client/client_config.hpp"
#include "client/nix_store.hpp"
#include "client/push_progress.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::client {

struct PushOptions {
    NixStoreOptions store;
    std::size_t jobs = 4;                // uploads in flight
    bool closure = true;                 // false: the paths named only (--no-closure)
    bool ignore_upstream_filter = false; // push paths signed upstream too
    bool force_preamble = false;         // the info in the body even when small
    std::size_t missing_batch = 1000;    // store hashes per get-missing-paths
    // Uploads that fail on the way (connection lost, 5xx) are tried again,
    // up to this many times in all, pausing retry_pause x the attempt number.
    std::size_t attempts = 3;
    std::chrono::milliseconds retry_pause{1000};
};

struct PushSummary {
    std::size_t closure_paths = 0;
    std::size_t signed_upstream = 0;
    std::size_t already_cached = 0;
    std::size_t uploaded = 0;     // sent, with new chunks stored
    std::size_t deduplicated = 0; // sent, every chunk already stored
    std::size_t failed = 0;
    std::size_t skipped = 0;              // not sent: a reference failed, or the push stopped
    std::uint64_t bytes_sent = 0;         // NAR bytes of the paths that went through
    std::uint64_t bytes_deduplicated = 0; // of those, what the server already had
    std::chrono::duration<double> elapsed{};
    std::vector<std::string> errors; // one line per failed path
};

Result<PushSummary> push_paths(const ServerEntry& server, std::string_view cache,
                               const std::vector<std::string>& roots, const PushOptions& options,
                               PushProgress& progress);

// "pushed 3 paths (1.2 GiB of NAR) in 4.5 s, 270.1 MiB/s: ..." the last line
// `nixedge push` prints.
std::string summary_line(const PushSummary& summary);

} // namespace nixedge::lab::client
