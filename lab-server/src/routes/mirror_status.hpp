// The edge mirror's freshness on /metrics, from the sync/status object the
// sync job writes into the bucket (docs/sync.md).
#pragma once

#include "http/metrics.hpp"
#include "nixedge/result.hpp"
#include "storage/storage.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace nixedge::lab {

using UnixClock = std::function<std::int64_t()>; // seconds since the epoch

// Registers:
//   nixedge_mirror_sync_status_present       1 if the bucket has a readable sync/status
//   nixedge_mirror_last_sync_success         1 if the last sync run succeeded
//   nixedge_mirror_last_sync_finished_seconds when it ended (unix time)
//   nixedge_mirror_last_success_seconds      when a run last succeeded (0: never)
//   nixedge_mirror_age_seconds               now minus that (-1: never synced)
// sync/status is read at most every `refresh` however many scrapes ask.
Result<void> register_mirror_gauges(http::Metrics& metrics, std::shared_ptr<Storage> storage,
                                    UnixClock now, std::chrono::seconds refresh);

} // namespace nixedge::lab
