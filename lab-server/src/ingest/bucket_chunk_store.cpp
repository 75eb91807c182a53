#include "ingest/bucket_chunk_store.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"

#include <thread>

namespace nixedge::lab {

Result<std::optional<std::uint64_t>> BucketChunkStore::stored_size(const Sha256Digest& hash) {
    auto chunk = metadata_->get_chunk(hash);
    if (!chunk)
        return chunk.error();
    if (!*chunk || (*chunk)->state != ChunkState::stored)
        return std::optional<std::uint64_t>{};
    if (!(*chunk)->unused_since)
        return std::optional<std::uint64_t>{(*chunk)->stored_size};
    // An unused chunk may be GC's next: taking it restarts its grace period,
    // unless GC holds it already (then it is stored anew).
    auto reused = metadata_->reuse_stored_chunk(hash);
    if (!reused)
        return reused.error();
    if (!*reused)
        return std::optional<std::uint64_t>{};
    return std::optional<std::uint64_t>{(*chunk)->stored_size};
}

Result<std::uint64_t> BucketChunkStore::write_claimed(const Sha256Digest& hash,
                                                      const ChunkClaim& claim, ByteView frame) {
    if (auto put = storage_->put(bucket_key::chunk(hash), frame); !put) {
        // Let the next upload of this chunk (a retry once the bucket is back)
        // take the claim over now; if the database is down too, the claim
        // times out instead.
        (void)metadata_->release_chunk_claim(hash, claim.claim_id);
        return put.error();
    }
    if (auto marked = metadata_->mark_chunk_stored(hash, claim.claim_id); !marked)
        return marked.error();
    return claim.stored_size;
}

// When another upload holds the claim, its frame is the one that stays: wait
// for its mark rather than write a second copy. If it died, its claim times
// out and a later claim takes it over.
Result<std::uint64_t> BucketChunkStore::store(const Sha256Digest& hash, std::uint64_t raw_size,
                                              ByteView frame) {
    auto deadline = std::chrono::steady_clock::now() + options_.wait_for_other_writer;
    auto pause = std::chrono::milliseconds(2);
    for (;;) {
        auto claim = metadata_->claim_chunk(hash, raw_size, frame.size());
        if (!claim)
            return claim.error();
        if (claim->outcome == ChunkClaimOutcome::already_stored)
            return claim->stored_size;
        if (claim->outcome == ChunkClaimOutcome::claimed_by_me)
            return write_claimed(hash, *claim, frame);
        if (std::chrono::steady_clock::now() >= deadline)
            return make_error(ErrorCode::storage_unavailable,
                              "chunk " + encoding::to_hex(hash) +
                                  " is being stored by another upload that did not finish in time");
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(250));
    }
}

} // namespace nixedge::lab
