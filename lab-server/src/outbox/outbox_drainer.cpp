#include "outbox/outbox_drainer.hpp"

#include "outbox/edge_objects.hpp"

#include <unordered_map>

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
        for (std::size_t i = 0; i < batch->size(); ++i) {
            const auto& entry = (*batch)[i];
            if (redundant[i]) {
                ++stats.coalesced;
            } else if (auto applied = apply(entry, stats); !applied) {
                // Best effort: the entry keeps its place either way.
                (void)metadata_->complete_outbox(done);
                (void)metadata_->fail_outbox(entry.id, applied.error().detail);
                return Error{applied.error().code,
                             "writing " + entry.key + " to the bucket: " + applied.error().detail};
            }
            done.push_back(entry.id);
        }
        if (auto completed = metadata_->complete_outbox(done); !completed)
            return completed.error();
    }
}

} // namespace nixedge::lab
