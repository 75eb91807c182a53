// sync/plan: what the mirror of the bucket should hold, written by the lab and
// read by the sync job (docs/bucket-layout.md). Two lists of bucket keys:
// immutable objects (chunks, then manifests), which the mirror copies first
// and only when missing, and mutable ones (the layout marker, each edge
// cache's nix-cache-info, narinfos and listings in publish order), copied
// after them so a narinfo never reaches the mirror before what it points at.
//
// Text, one line per key:
//
//     nixedge-sync-plan 1
//     immutable chunks/<hex>
//     immutable manifests/<hex>
//     mutable nixedge-layout
//     mutable <cache>/nix-cache-info
//     mutable <cache>/<hash>.narinfo
//
// A line-oriented format so a shell script can split it with awk and hand each
// list to `rclone copy --files-from`.
#pragma once

#include "nixedge/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nixedge {

inline constexpr int sync_plan_version = 1;

struct SyncPlan {
    std::vector<std::string> immutable_keys;
    std::vector<std::string> mutable_keys;

    bool operator==(const SyncPlan&) const = default;
};

std::string encode_sync_plan(const SyncPlan& plan);
// invalid_argument with the line number for anything but the format above
// (every key must be one the bucket layout names).
Result<SyncPlan> decode_sync_plan(std::string_view text);

} // namespace nixedge
