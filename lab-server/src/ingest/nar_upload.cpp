#include "ingest/nar_upload.hpp"

#include "nixedge/encoding.hpp"

namespace nixedge::lab {

Result<NarUpload> NarUpload::create(const NarUploadOptions& options, UploadCompression compression,
                                    ChunkStore& chunks) {
    auto decoder = make_upload_decoder(compression);
    if (!decoder)
        return decoder.error();
    auto ingestor = NarIngestor::create(options.ingest);
    if (!ingestor)
        return ingestor.error();
    auto compressor = ZstdCompressor::create({.level = options.zstd_level});
    if (!compressor)
        return compressor.error();
    return NarUpload(options, std::move(decoder).value(), std::move(ingestor).value(),
                     std::move(compressor).value(), chunks);
}

NarUpload::NarUpload(const NarUploadOptions& options, std::unique_ptr<UploadDecoder> decoder,
                     NarIngestor ingestor, ZstdCompressor compressor, ChunkStore& chunks)
    : options_(options), decoder_(std::move(decoder)), ingestor_(std::move(ingestor)),
      compressor_(std::move(compressor)), chunks_(&chunks) {}

// Chunks already stored are not compressed again: a re-push costs hashing only.
Result<void> NarUpload::store_chunk(const Sha256Digest& hash, ByteView raw) {
    auto known = chunks_->stored_size(hash);
    if (!known)
        return known.error();
    if (*known) {
        stored_sizes_.push_back(**known);
        ++stats_.deduplicated_chunks;
        stats_.deduplicated_raw_bytes += raw.size();
        return {};
    }
    frame_.clear();
    if (auto compressed = compressor_.compress_frame(raw, frame_); !compressed)
        return compressed;
    auto stored = chunks_->store(hash, raw.size(), frame_);
    if (!stored)
        return stored.error();
    stored_sizes_.push_back(*stored);
    ++stats_.new_chunks;
    stats_.new_stored_bytes += *stored;
    return {};
}

Result<void> NarUpload::feed(ByteView upload_bytes) {
    stats_.upload_bytes += upload_bytes.size();
    auto on_chunk = [this](const Sha256Digest& hash, ByteView raw) {
        return store_chunk(hash, raw);
    };
    return decoder_->feed(upload_bytes,
                          [&](ByteView nar_bytes) { return ingestor_.feed(nar_bytes, on_chunk); });
}

Result<void> NarUpload::check_expected(const IngestedNar& nar) const {
    if (options_.expected_nar_hash && *options_.expected_nar_hash != nar.nar_hash)
        return make_error(ErrorCode::invalid_nar,
                          "NAR hash sha256:" + encoding::to_nix32(nar.nar_hash) +
                              " does not match the expected sha256:" +
                              encoding::to_nix32(*options_.expected_nar_hash));
    if (options_.expected_nar_size && *options_.expected_nar_size != nar.nar_size)
        return make_error(ErrorCode::invalid_nar, "NAR size " + std::to_string(nar.nar_size) +
                                                      " does not match the expected " +
                                                      std::to_string(*options_.expected_nar_size));
    return {};
}

Result<StagedNar> NarUpload::finish() {
    auto on_chunk = [this](const Sha256Digest& hash, ByteView raw) {
        return store_chunk(hash, raw);
    };
    if (auto decoded = decoder_->finish(
            [&](ByteView nar_bytes) { return ingestor_.feed(nar_bytes, on_chunk); });
        !decoded)
        return decoded.error();
    auto nar = ingestor_.finish(on_chunk);
    if (!nar)
        return nar.error();
    if (auto expected = check_expected(*nar); !expected)
        return expected.error();

    StagedNar staged;
    staged.manifest.nar_hash = nar->nar_hash;
    staged.manifest.nar_size = nar->nar_size;
    staged.manifest.chunks = std::move(nar->chunks);
    for (std::size_t i = 0; i < staged.manifest.chunks.size(); ++i)
        staged.manifest.chunks[i].stored_size = stored_sizes_[i];
    auto text = encode_manifest(staged.manifest);
    if (!text)
        return text.error();
    staged.manifest_text = std::move(text).value();
    staged.manifest_hash = Sha256::digest(as_bytes(staged.manifest_text));
    staged.listing = std::move(nar->listing);
    staged.stats = stats_;
    return staged;
}

} // namespace nixedge::lab
