#include "outbox/outbox_drainer.hpp"

#include "outbox/edge_objects.hpp"

#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace nixedge::lab {

namespace {

constexpr std::size_t batch_size = 256;

// A `regenerate` writes the database's current truth, so one that a later
// regenerate of the same key in the batch follows can be skipped: the later
// one writes the same or newer bytes, still after every entry before it.
std::vector<bool> redundant_regenerations(const std::vector<OutboxEntry>& batch) {
    std::unordered_map<std::string, std::size_t> last;
    for (std::size_t i = 0; i < batch.size(); ++i)
        if (batch[i].op == OutboxOp::regenerate)
            last[batch[i].key] = i;
    std::vector<bool> redundant(batch.size(), false);
    for (std::size_t i = 0; i < batch.size(); ++i)
        redundant[i] = batch[i].op == OutboxOp::regenerate && last[batch[i].key] != i;
    return redundant;
}

} // namespace

Result<void> OutboxDrainer::apply(const OutboxEntry& entry, DrainStats& stats) {
    if (entry.op == OutboxOp::put) {
        ++stats.written;
        return storage_->put(entry.key, as_bytes(entry.payload));
    }
    if (entry.op == OutboxOp::remove) {
        ++stats.removed;
        return storage_->remove(entry.key);
    }
    auto rendered = render_edge_object(*metadata_, entry.key);
    if (!rendered)
        return rendered.error();
    if (!*rendered) {
        ++stats.removed;
        return storage_->remove(entry.key);
    }
    ++stats.written;
    return storage_->put(entry.key, as_bytes(**rendered));
}

Result<void> OutboxDrainer::remove_run(std::span<const OutboxEntry> run, DrainStats& stats) {
    std::vector<std::string> keys;
    keys.reserve(run.size());
    for (const auto& entry : run)
        keys.push_back(entry.key);
    if (auto removed = storage_->remove_many(keys); !removed)
        return removed;
    stats.removed += keys.size();
    return {};
}

Result<DrainStats> OutboxDrainer::drain() {
    std::lock_guard lock(mutex_);
    Result<DrainStats> drained = DrainStats{};
    auto locked = metadata_->with_outbox_lock([&]() -> Result<void> {
        drained = drain_locked();
        if (!drained)
            return drained.error();
        return {};
    });
    if (!locked && drained)
        return locked.error(); // the lock itself failed
    return drained;
}

Result<DrainStats> OutboxDrainer::drain_locked() {
    DrainStats stats;
    for (;;) {
        auto batch = metadata_->pending_outbox(batch_size);
        if (!batch)
            return batch.error();
        if (batch->empty())
            return stats;
        auto redundant = redundant_regenerations(*batch);
        // Completed together after the batch (or up to a failure): an entry
        // applied again after a crash writes or removes the same thing.
        std::vector<std::int64_t> done;
        for (std::size_t i = 0; i < batch->size();) {
            const auto& entry = (*batch)[i];
            // A run of removals (independent keys: GC's narinfos and
            // listings) goes in one call; nothing after it starts before it.
            std::size_t end = i + 1;
            if (entry.op == OutboxOp::remove)
                while (end < batch->size() && (*batch)[end].op == OutboxOp::remove)
                    ++end;
            Result<void> applied;
            if (redundant[i])
                ++stats.coalesced;
            else if (end - i > 1)
                applied = remove_run(std::span(*batch).subspan(i, end - i), stats);
            else
                applied = apply(entry, stats);
            if (!applied) {
                // Best effort: the entry keeps its place either way.
                (void)metadata_->complete_outbox(done);
                (void)metadata_->fail_outbox(entry.id, applied.error().detail);
                auto what = end - i > 1 ? "removing " + entry.key + " and " +
                                              std::to_string(end - i - 1) + " more from"
                                        : "writing " + entry.key + " to";
                return Error{applied.error().code, what + " the bucket: " + applied.error().detail};
            }
            for (; i < end; ++i)
                done.push_back((*batch)[i].id);
        }
        if (auto completed = metadata_->complete_outbox(done); !completed)
            return completed.error();
    }
}

} // namespace nixedge::lab
