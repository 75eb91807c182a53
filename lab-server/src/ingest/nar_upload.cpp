#include "ingest/nar_upload.hpp"

#include "ingest/chunk_executor.hpp"

#include "nixedge/encoding.hpp"

#include <chrono>
#include <mutex>

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

namespace {

// Chunks already stored are not compressed again: a re-push costs hashing only.
// `frame` only ever grows: reused from chunk to chunk, it is neither zeroed
// nor faulted in again, as a fresh megabyte per chunk was.
Result<NarUpload::ChunkOutcome> process_chunk(ChunkStore& chunks, ZstdCompressor& compressor,
                                              Bytes& frame, const Sha256Digest& hash,
                                              ByteView raw) {
    auto known = chunks.stored_size(hash);
    if (!known)
        return known.error();
    if (*known)
        return NarUpload::ChunkOutcome{raw.size(), **known, true};
    auto bound = static_cast<std::size_t>(ZstdCompressor::frame_bound(raw.size()));
    if (frame.size() < bound)
        frame.resize(bound);
    auto size = compressor.compress_frame_into(raw, frame);
    if (!size)
        return size.error();
    auto stored = chunks.store(hash, raw.size(), ByteView(frame.data(), *size));
    if (!stored)
        return stored.error();
    return NarUpload::ChunkOutcome{raw.size(), *stored, false};
}

// Each executor thread keeps one compressor (a zstd context is ~1 MB to set up).
Result<ZstdCompressor*> thread_compressor(int level) {
    thread_local std::optional<ZstdCompressor> compressor;
    thread_local int compressor_level = 0;
    if (!compressor || compressor_level != level) {
        auto made = ZstdCompressor::create({.level = level});
        if (!made)
            return made.error();
        compressor.emplace(std::move(made).value());
        compressor_level = level;
    }
    return &*compressor;
}

// The chunks' copies for the executor, recycled: the chunks in flight are
// capped for the whole server, and so are the buffers kept here.
class ChunkBuffers {
  public:
    Bytes copy_of(ByteView raw) {
        Bytes buffer;
        {
            std::lock_guard lock(mutex_);
            if (!free_.empty()) {
                buffer = std::move(free_.back());
                free_.pop_back();
            }
        }
        buffer.assign(raw.begin(), raw.end());
        return buffer;
    }
    void give_back(Bytes buffer) {
        std::lock_guard lock(mutex_);
        if (free_.size() < kept)
            free_.push_back(std::move(buffer));
    }

  private:
    static constexpr std::size_t kept = 32;
    std::mutex mutex_;
    std::vector<Bytes> free_;
};

ChunkBuffers& chunk_buffers() {
    static ChunkBuffers buffers;
    return buffers;
}

} // namespace

NarUpload::~NarUpload() {
    for (auto& [index, result] : in_flight_)
        if (result.valid())
            result.wait();
}

void NarUpload::record(std::size_t index, const ChunkOutcome& outcome) {
    stored_sizes_[index] = outcome.stored_size;
    if (outcome.deduplicated) {
        ++stats_.deduplicated_chunks;
        stats_.deduplicated_raw_bytes += outcome.raw_size;
    } else {
        ++stats_.new_chunks;
        stats_.new_stored_bytes += outcome.stored_size;
    }
}

Result<void> NarUpload::fail(Error error) {
    failure_ = error;
    return error;
}

Result<void> NarUpload::collect_oldest() {
    auto [index, result] = std::move(in_flight_.front());
    in_flight_.pop_front();
    auto outcome = result.get();
    if (!outcome)
        return fail(outcome.error());
    record(index, *outcome);
    return {};
}

// Without waiting: a chunk that failed fails the upload now, not once the
// window fills up, so the client gets its answer before sending up to
// max_in_flight more chunks' worth of body.
Result<void> NarUpload::collect_finished() {
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
        if (it->second.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
            ++it;
            continue;
        }
        auto outcome = it->second.get();
        if (!outcome)
            return fail(outcome.error());
        record(it->first, *outcome);
        it = in_flight_.erase(it);
    }
    return {};
}

Result<void> NarUpload::submit_chunk(std::size_t index, const Sha256Digest& hash, ByteView raw) {
    if (auto collected = collect_finished(); !collected)
        return collected;
    while (in_flight_.size() >= options_.max_in_flight)
        if (auto collected = collect_oldest(); !collected)
            return collected;
    auto task = std::make_shared<std::packaged_task<Result<ChunkOutcome>()>>(
        [chunks = chunks_, level = options_.zstd_level, hash,
         raw_copy = chunk_buffers().copy_of(raw)]() mutable -> Result<ChunkOutcome> {
            auto compressor = thread_compressor(level);
            if (!compressor)
                return compressor.error();
            thread_local Bytes frame;
            auto outcome = process_chunk(*chunks, **compressor, frame, hash, raw_copy);
            chunk_buffers().give_back(std::move(raw_copy));
            return outcome;
        });
    in_flight_.emplace_back(index, task->get_future());
    options_.executor->submit([task] { (*task)(); });
    return {};
}

Result<void> NarUpload::store_chunk(const Sha256Digest& hash, ByteView raw) {
    auto index = stored_sizes_.size();
    stored_sizes_.push_back(0);
    if (options_.executor != nullptr)
        return submit_chunk(index, hash, raw);
    auto outcome = process_chunk(*chunks_, compressor_, frame_, hash, raw);
    if (!outcome)
        return fail(outcome.error());
    record(index, *outcome);
    return {};
}

Result<void> NarUpload::feed(ByteView upload_bytes) {
    if (failure_)
        return *failure_;
    if (auto collected = collect_finished(); !collected)
        return collected;
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
    if (failure_)
        return *failure_;
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
    while (!in_flight_.empty())
        if (auto collected = collect_oldest(); !collected)
            return collected.error();
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
