// The ChunkStore of the server: chunks claimed in the metadata database, then
// written to the bucket, then marked stored (invariant 2: first writer wins,
// nobody rewrites a chunk). Each chunk is marked as soon as its object is
// durable: another upload that needs the same chunk waits for exactly that
// mark, so holding marks back (to save commits) could leave two uploads
// waiting for each other's.
#pragma once

#include "ingest/nar_upload.hpp"
#include "metadata/metadata_store.hpp"
#include "storage/storage.hpp"

#include <chrono>

namespace nixedge::lab {

struct BucketChunkStoreOptions {
    // How long to wait for another upload that is storing the same chunk.
    std::chrono::milliseconds wait_for_other_writer{120'000};
};

// Safe to call from several threads (an upload's chunks are compressed and
// stored in parallel).
class BucketChunkStore final : public ChunkStore {
  public:
    BucketChunkStore(MetadataStore& metadata, Storage& storage,
                     BucketChunkStoreOptions options = {})
        : metadata_(&metadata), storage_(&storage), options_(options) {}

    Result<std::optional<std::uint64_t>> stored_size(const Sha256Digest& hash) override;
    Result<std::uint64_t> store(const Sha256Digest& hash, std::uint64_t raw_size,
                                ByteView frame) override;

  private:
    Result<std::uint64_t> write_claimed(const Sha256Digest& hash, const ChunkClaim& claim,
                                        ByteView frame);

    MetadataStore* metadata_;
    Storage* storage_;
    BucketChunkStoreOptions options_;
};

} // namespace nixedge::lab
