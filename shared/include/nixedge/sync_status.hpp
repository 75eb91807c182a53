// sync/status: what the sync job (scripts/r2-sync.sh) writes into the lab's
// bucket after each run (docs/sync.md), and the lab server reads for its
// mirror-freshness metrics. Text, one "name value" per line after a header:
//
//     nixedge-sync-status 1
//     started <unix seconds>
//     finished <unix seconds>
//     result ok|failed
//     phase <the phase it ended in>
//     last-success <unix seconds>      (absent until a run succeeds)
//     <counter> <n>                    (more lines, e.g. copied-immutable)
#pragma once

#include "nixedge/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nixedge {

struct SyncStatus {
    std::int64_t started = 0;
    std::int64_t finished = 0;
    bool succeeded = false;
    std::string phase;
    // When a run last succeeded (this one, if it did): the mirror's age.
    std::optional<std::int64_t> last_success;
};

// invalid_argument, with the line number, for a wrong header, a malformed
// line, a missing or repeated started/finished/result/phase, or a result
// other than ok/failed. Lines with other names are counters, skipped.
Result<SyncStatus> decode_sync_status(std::string_view text);

} // namespace nixedge
