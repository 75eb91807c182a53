// One ingest path for every protocol (Nix's NAR PUT, Attic's upload-path,
// `nixedge push`): compressed upload bytes in, a StagedNar out. The bytes
// stream through decode -> NAR validation + NarHash + FastCDC (NarIngestor)
// -> per-chunk dedup lookup -> zstd frame -> ChunkStore; nothing holds more
// than one chunk. Whether the result gets published is decided later, by
// whoever holds the narinfo.
#pragma once

#include "ingest/upload_decoder.hpp"
#include "nixedge/manifest.hpp"
#include "nixedge/nar_ingest.hpp"
#include "nixedge/zstd_frames.hpp"

#include <deque>
#include <future>
#include <optional>
#include <string>

namespace nixedge::lab {

// Where chunks go. Implementations claim a chunk in the database before
// uploading it, so the first writer wins and a stored chunk is never rewritten.
class ChunkStore {
  public:
    virtual ~ChunkStore() = default;
    // The stored size of a chunk that is already stored, if it is.
    virtual Result<std::optional<std::uint64_t>> stored_size(const Sha256Digest& hash) = 0;
    // Stores one chunk frame durably; returns the stored size of the chunk as
    // it now exists (another writer's frame if that one won).
    virtual Result<std::uint64_t> store(const Sha256Digest& hash, std::uint64_t raw_size,
                                        ByteView frame) = 0;
};

struct IngestStats {
    std::uint64_t upload_bytes = 0; // as received (compressed by the client or not)
    std::uint64_t new_chunks = 0;   // compressed and stored by this upload
    std::uint64_t new_stored_bytes = 0;
    std::uint64_t deduplicated_chunks = 0;
    std::uint64_t deduplicated_raw_bytes = 0;
};

struct StagedNar {
    ChunkManifest manifest;
    std::string manifest_text; // the manifest object's bytes
    Sha256Digest manifest_hash{};
    std::string listing;
    IngestStats stats;
};

class ChunkExecutor;

struct NarUploadOptions {
    IngestOptions ingest{};
    int zstd_level = 3;
    // When the caller already knows them (Attic's API sends the path info first).
    std::optional<Sha256Digest> expected_nar_hash;
    std::optional<std::uint64_t> expected_nar_size;
    // Compress and store chunks on these threads, up to max_in_flight of this
    // upload's chunks at a time (the ChunkStore must then be thread-safe).
    // null: every chunk is done in the caller's thread before feed returns.
    ChunkExecutor* executor = nullptr;
    std::size_t max_in_flight = 8;
};

class NarUpload {
  public:
    static Result<NarUpload> create(const NarUploadOptions& options, UploadCompression compression,
                                    ChunkStore& chunks);

    // A chunk that failed to be stored fails the upload at the next feed
    // (or finish) after it finished, whichever chunk it was; every call
    // after that returns the same error.
    Result<void> feed(ByteView upload_bytes);
    Result<StagedNar> finish();

    // Waits for chunks still being stored (whatever happened to the upload).
    ~NarUpload();
    NarUpload(NarUpload&&) = default;
    NarUpload& operator=(NarUpload&&) = delete;

    // What became of one chunk.
    struct ChunkOutcome {
        std::uint64_t raw_size = 0;
        std::uint64_t stored_size = 0;
        bool deduplicated = false;
    };

  private:
    NarUpload(const NarUploadOptions& options, std::unique_ptr<UploadDecoder> decoder,
              NarIngestor ingestor, ZstdCompressor compressor, ChunkStore& chunks);

    Result<void> store_chunk(const Sha256Digest& hash, ByteView raw);
    Result<void> submit_chunk(std::size_t index, const Sha256Digest& hash, ByteView raw);
    Result<void> collect_oldest();
    Result<void> collect_finished();
    Result<void> fail(Error error);
    void record(std::size_t index, const ChunkOutcome& outcome);
    Result<void> check_expected(const IngestedNar& nar) const;

    NarUploadOptions options_;
    std::unique_ptr<UploadDecoder> decoder_;
    NarIngestor ingestor_;
    ZstdCompressor compressor_;
    ChunkStore* chunks_;
    Bytes frame_;
    std::vector<std::uint64_t> stored_sizes_; // per chunk, in NAR order
    IngestStats stats_;
    // Chunks handed to the executor, oldest first, with their index.
    std::deque<std::pair<std::size_t, std::future<Result<ChunkOutcome>>>> in_flight_;
    // The first chunk failure; the upload is over.
    std::optional<Error> failure_;
};

} // namespace nixedge::lab
