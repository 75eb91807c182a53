// Writes what the outbox owes the bucket (docs/metadata-schema.md), in the
// order it was enqueued. Runs before a push is acknowledged and at start-up.
#pragma once

#include "metadata/metadata_store.hpp"
#include "storage/storage.hpp"

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>

namespace nixedge::lab {

struct DrainStats {
    std::size_t written = 0;   // objects put
    std::size_t removed = 0;   // objects deleted
    std::size_t coalesced = 0; // regenerate entries made redundant by a later one
};

class OutboxDrainer {
  public:
    OutboxDrainer(std::shared_ptr<MetadataStore> metadata, std::shared_ptr<Storage> storage)
        : metadata_(std::move(metadata)), storage_(std::move(storage)) {}

    // Drains every entry pending when it is called (and any enqueued
    // meanwhile). One drain at a time on a database (the process's mutex,
    // then MetadataStore::with_outbox_lock across replicas): a caller that
    // finds another drain running waits for it, then drains what is left, so on
    // success everything enqueued before the call is in the bucket. Stops at
    // the first failure, which is recorded on the entry (fail_outbox) and
    // returned: a later entry for the same key must not overtake it.
    Result<DrainStats> drain();

  private:
    Result<DrainStats> drain_locked();
    Result<void> apply(const OutboxEntry& entry, DrainStats& stats);
    // Consecutive `remove` entries, with one Storage::remove_many.
    Result<void> remove_run(std::span<const OutboxEntry> run, DrainStats& stats);

    std::shared_ptr<MetadataStore> metadata_;
    std::shared_ptr<Storage> storage_;
    std::mutex mutex_;
};

} // namespace nixedge::lab
