#include "metadata/metadata_store.hpp"

namespace nixedge::lab {

UnixTime system_clock_now() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

Result<ChunkClaim> MetadataStore::claim_chunk(const Sha256Digest& hash, std::uint64_t raw_size,
                                              std::uint64_t stored_size) {
    const ChunkClaimRequest request{hash, raw_size, stored_size};
    auto claims = claim_chunks(std::span(&request, 1));
    if (!claims)
        return claims.error();
    return claims->front();
}

Result<void> MetadataStore::mark_chunk_stored(const Sha256Digest& hash, std::int64_t claim_id) {
    const ChunkStoredRequest request{hash, claim_id};
    return mark_chunks_stored(std::span(&request, 1));
}

std::string_view to_string(KeyState state) {
    return state == KeyState::active ? "active" : "retiring";
}

std::string_view to_string(ChunkState state) {
    return state == ChunkState::claimed ? "claimed" : "stored";
}

std::string_view to_string(OutboxOp op) {
    switch (op) {
    case OutboxOp::put:
        return "put";
    case OutboxOp::remove:
        return "delete";
    case OutboxOp::regenerate:
        return "regenerate";
    }
    return "put";
}

} // namespace nixedge::lab
