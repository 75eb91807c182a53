// What `nixedge push` uploads and in which order, decided without I/O:
// the closure minus the paths signed by the cache's upstream keys (as Attic's
// client skips what cache.nixos.org serves) minus what the server has, then
// an upload order in which a path starts only once the paths it references
// (among those uploaded) are in: the server never has to hold a path for its
// references, and a path whose reference failed is skipped, not sent.
#pragma once

#include "client/nix_store.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nixedge::lab::client {

// True when one of the path's signatures is by a key named in `upstream_keys`.
bool signed_by_upstream(const LocalPathInfo& info, const std::vector<std::string>& upstream_keys);

// Splits `closure` into the paths to offer the server and the number left
// out because an upstream key signed them.
struct UpstreamFilter {
    std::vector<LocalPathInfo> offered;
    std::size_t signed_upstream = 0;
};
UpstreamFilter filter_upstream(std::vector<LocalPathInfo> closure,
                               const std::vector<std::string>& upstream_keys);

// The store hashes of `paths` in batches of at most `batch` (get-missing-paths).
std::vector<std::vector<std::string>> hash_batches(const std::vector<LocalPathInfo>& paths,
                                                   std::size_t batch);

// Hands out the paths to upload: a path is ready once every path it references
// among them has completed; of the ready ones, the largest NAR first (so the
// long uploads start early and the small ones fill in). Not thread-safe: the
// pusher calls it under its lock.
class UploadScheduler {
  public:
    explicit UploadScheduler(std::vector<LocalPathInfo> paths);

    // A ready path's index, marked running; nullopt when none is ready now.
    std::optional<std::size_t> next();
    // Its upload ended. On failure, every path that references it, directly
    // or not, is skipped (never handed out).
    void completed(std::size_t index, bool succeeded);
    // No path is ready or running, and none ever will be.
    bool finished() const { return running_ == 0 && ready_.empty(); }

    const LocalPathInfo& path(std::size_t index) const { return paths_[index]; }
    std::size_t size() const { return paths_.size(); }
    // Skipped paths and the failed reference that made each one skipped.
    const std::vector<std::pair<std::size_t, std::size_t>>& skipped() const { return skipped_; }

  private:
    void make_ready(std::size_t index);
    void skip_dependents(std::size_t failed, std::size_t cause);

    struct ByLargestNar {
        const std::vector<LocalPathInfo>* paths;
        bool operator()(std::size_t a, std::size_t b) const;
    };

    std::vector<LocalPathInfo> paths_;
    std::vector<std::vector<std::size_t>> dependents_; // who references each path
    std::vector<std::size_t> waiting_on_;              // in-plan references not yet completed
    std::vector<bool> skipped_flag_;
    std::set<std::size_t, ByLargestNar> ready_;
    std::size_t running_ = 0;
    std::vector<std::pair<std::size_t, std::size_t>> skipped_;
};

} // namespace nixedge::lab::client
