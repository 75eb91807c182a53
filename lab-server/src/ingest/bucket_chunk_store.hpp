// The ChunkStore of the server: chunks claimed in the metadata database, then
// written to the bucket, then marked stored (invariant 2: first writer wins,
// nobody rewrites a chunk). Marks are batched, because each database commit
// costs an fsync: a chunk is usable by others only once marked, and flush()
// must run before a manifest that uses the chunks is recorded.
#pragma once

#include "ingest/nar_upload.hpp"
#include "metadata/metadata_store.hpp"
#include "storage/storage.hpp"

#include <chrono>
#include <mutex>
#include <vector>

namespace nixedge::lab {

struct BucketChunkStoreOptions {
    // Marks held before they are committed together.
    std::size_t mark_batch = 64;
    // How long to wait for another upload that is storing the same chunk.
    std::chrono::milliseconds wait_for_other_writer{120'000};
};

// One per upload; safe to call from several threads (an upload's chunks are
// compressed and stored in parallel).
class BucketChunkStore final : public ChunkStore {
  public:
    BucketChunkStore(MetadataStore& metadata, Storage& storage,
                     BucketChunkStoreOptions options = {})
        : metadata_(&metadata), storage_(&storage), options_(options) {}

    Result<std::optional<std::uint64_t>> stored_size(const Sha256Digest& hash) override;
    Result<std::uint64_t> store(const Sha256Digest& hash, std::uint64_t raw_size,
                                ByteView frame) override;
    // Commits the pending marks. Call before recording a manifest.
    Result<void> flush();

  private:
    Result<void> flush_locked();
    Result<std::uint64_t> write_claimed(const Sha256Digest& hash, const ChunkClaim& claim,
                                        ByteView frame);

    MetadataStore* metadata_;
    Storage* storage_;
    BucketChunkStoreOptions options_;
    std::mutex marks_mutex_;
    std::vector<ChunkStoredRequest> pending_marks_;
};

} // namespace nixedge::lab
