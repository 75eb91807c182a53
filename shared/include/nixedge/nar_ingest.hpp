// The core of the one ingest path: NAR bytes in (any slicing), out come
// content-defined chunks named by their SHA-256, and at the end the NAR's
// hash, size, chunk list and listing. The NAR is validated as it streams, so
// a malformed upload fails before its narinfo can ever be published. Chunk
// compression and storage are the caller's (they are I/O and may run in
// parallel); the caller fills in each chunk's stored size.
#pragma once

#include "nixedge/chunker.hpp"
#include "nixedge/manifest.hpp"
#include "nixedge/nar.hpp"
#include "nixedge/nar_listing.hpp"
#include "nixedge/sha256.hpp"

#include <string>
#include <vector>

namespace nixedge {

struct IngestOptions {
    ChunkerParams chunking{};
    NarLimits nar{};
    std::uint64_t max_nar_size = std::uint64_t{1} << 40;
};

struct IngestedNar {
    Sha256Digest nar_hash{};
    std::uint64_t nar_size = 0;
    std::vector<ChunkRef> chunks; // stored_size left 0 for the caller
    std::string listing;          // Nix's .ls JSON
};

class NarIngestor {
  public:
    static Result<NarIngestor> create(const IngestOptions& options = {});

    // on_chunk(const Sha256Digest& hash, ByteView raw) -> Result<void>, for
    // each completed chunk in NAR order; `raw` is valid during the call only.
    template <class OnChunk> Result<void> feed(ByteView input, OnChunk&& on_chunk) {
        if (auto ok = validate(input); !ok)
            return fail(ok.error());
        while (auto chunk = chunker_.next(input))
            if (auto ok = emit(*chunk, on_chunk); !ok)
                return fail(ok.error());
        return {};
    }

    // Ends the NAR: emits the last chunk, checks the NAR is complete.
    template <class OnChunk> Result<IngestedNar> finish(OnChunk&& on_chunk) {
        if (auto ok = finish_validation(); !ok)
            return fail(ok.error());
        if (auto chunk = chunker_.finish())
            if (auto ok = emit(*chunk, on_chunk); !ok)
                return fail(ok.error());
        return take_result();
    }

  private:
    NarIngestor(Chunker chunker, const IngestOptions& options);

    Result<void> validate(ByteView input);
    Result<void> finish_validation();
    Result<IngestedNar> take_result();
    Error fail(Error error);

    template <class OnChunk> Result<void> emit(ByteView chunk, OnChunk& on_chunk) {
        auto hash = Sha256::digest(chunk);
        result_.chunks.push_back({hash, chunk.size(), 0});
        return on_chunk(hash, chunk);
    }

    Chunker chunker_;
    NarParser parser_;
    NarListingBuilder listing_;
    Sha256 nar_hash_;
    IngestOptions options_;
    IngestedNar result_;
    bool failed_ = false;
};

} // namespace nixedge
