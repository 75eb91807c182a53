#include "ingest/chunk_executor.hpp"
#include "ingest/nar_upload.hpp"
#include "nixedge/nar.hpp"
#include "test_files.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <map>
#include <mutex>

using namespace nixedge;
using namespace nixedge::lab;

namespace {

// Chunk frames kept in memory; checks each frame really holds its chunk.
class MemoryChunkStore final : public ChunkStore {
  public:
    Result<std::optional<std::uint64_t>> stored_size(const Sha256Digest& hash) override {
        auto it = frames.find(hash);
        if (it == frames.end())
            return std::optional<std::uint64_t>();
        return std::optional<std::uint64_t>(it->second.size());
    }
    Result<std::uint64_t> store(const Sha256Digest& hash, std::uint64_t raw_size,
                                ByteView frame) override {
        if (fail)
            return make_error(ErrorCode::internal, "storage down");
        Bytes raw;
        auto decoder = ZstdDecompressor::create();
        REQUIRE(
            decoder
                ->feed(frame, [&](ByteView out) { raw.insert(raw.end(), out.begin(), out.end()); })
                .ok());
        REQUIRE(decoder->finish().ok());
        CHECK(raw.size() == raw_size);
        CHECK(Sha256::digest(raw) == hash);
        frames.emplace(hash, Bytes(frame.begin(), frame.end()));
        return frame.size();
    }

    std::map<Sha256Digest, Bytes> frames;
    bool fail = false;
};

const char* nar_hash_part = "9x6an4y7k25h1ms4gc5i3wjjb1rfc8sp";

std::string nix_nar() {
    return test::read_file(test::data_dir() / "nixcache" / "nars" /
                           (std::string(nar_hash_part) + ".nar"));
}

NarUploadOptions small_chunks() {
    NarUploadOptions options;
    options.ingest.chunking = {.min_size = 64, .avg_size = 256, .max_size = 1024};
    return options;
}

Result<StagedNar> upload(const std::string& bytes, ChunkStore& store,
                         const NarUploadOptions& options = small_chunks(),
                         UploadCompression compression = UploadCompression::none) {
    auto nar_upload = NarUpload::create(options, compression, store);
    REQUIRE(nar_upload.ok());
    auto view = as_bytes(bytes);
    for (std::size_t at = 0; at < view.size(); at += 100)
        if (auto fed =
                nar_upload->feed(view.subspan(at, std::min<std::size_t>(100, view.size() - at)));
            !fed)
            return fed.error();
    return nar_upload->finish();
}

std::string concatenated_frames(const StagedNar& staged, const MemoryChunkStore& store) {
    std::string out;
    for (const auto& chunk : staged.manifest.chunks)
        out += as_chars(store.frames.at(chunk.hash));
    return out;
}

} // namespace

TEST_CASE("an upload becomes a manifest of stored zstd frames", "[nar_upload]") {
    MemoryChunkStore store;
    auto nar = nix_nar();
    auto staged = upload(nar, store);
    REQUIRE(staged.ok());
    CHECK(staged->manifest.nar_hash == Sha256::digest(as_bytes(nar)));
    CHECK(staged->manifest.nar_size == nar.size());
    CHECK(staged->manifest.chunks.size() > 1);
    CHECK(staged->manifest_hash == Sha256::digest(as_bytes(staged->manifest_text)));
    CHECK(decode_manifest(staged->manifest_text)->chunks.size() == staged->manifest.chunks.size());
    CHECK(staged->listing == test::read_file(test::data_dir() / "nixcache" / "cache" /
                                             (std::string(nar_hash_part) + ".ls")));

    // The concatenated frames are one zstd stream that decodes to the NAR.
    auto frames = concatenated_frames(*staged, store);
    CHECK(frames.size() == staged->manifest.stored_size());
    std::string decoded;
    auto decoder = ZstdDecompressor::create();
    REQUIRE(decoder->feed(as_bytes(frames), [&](ByteView out) { decoded += as_chars(out); }).ok());
    REQUIRE(decoder->finish().ok());
    CHECK(decoded == nar);
    CHECK(staged->stats.new_chunks + staged->stats.deduplicated_chunks ==
          staged->manifest.chunks.size());
}

TEST_CASE("pushing the same NAR again stores nothing new", "[nar_upload]") {
    MemoryChunkStore store;
    auto first = upload(nix_nar(), store);
    REQUIRE(first.ok());
    auto stored = store.frames.size();
    auto second = upload(nix_nar(), store);
    REQUIRE(second.ok());
    CHECK(store.frames.size() == stored);
    CHECK(second->stats.new_chunks == 0);
    CHECK(second->stats.deduplicated_raw_bytes == nix_nar().size());
    CHECK(second->manifest_hash == first->manifest_hash);
}

TEST_CASE("expected hash or size mismatches and storage failures are errors", "[nar_upload]") {
    MemoryChunkStore store;
    auto options = small_chunks();
    options.expected_nar_hash = Sha256::digest(as_bytes("something else"));
    auto mismatch = upload(nix_nar(), store, options);
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.error().code == ErrorCode::invalid_nar);
    CHECK(mismatch.error().detail.find("does not match") != std::string::npos);

    options = small_chunks();
    options.expected_nar_size = 1;
    CHECK(upload(nix_nar(), store, options).error().code == ErrorCode::invalid_nar);

    MemoryChunkStore broken;
    broken.fail = true;
    CHECK(upload(nix_nar(), broken).error().detail == "storage down");

    auto truncated = nix_nar();
    truncated.resize(truncated.size() - 8);
    CHECK(upload(truncated, store).error().code == ErrorCode::invalid_nar);
}

namespace {

// Thread-safe (chunks are stored from executor threads) and free of Catch2
// assertions, which may only run on the test's thread.
class LockedChunkStore final : public ChunkStore {
  public:
    Result<std::optional<std::uint64_t>> stored_size(const Sha256Digest& hash) override {
        std::lock_guard lock(mutex);
        auto it = sizes.find(hash);
        if (it == sizes.end())
            return std::optional<std::uint64_t>();
        return std::optional<std::uint64_t>(it->second);
    }
    Result<std::uint64_t> store(const Sha256Digest& hash, std::uint64_t, ByteView frame) override {
        std::lock_guard lock(mutex);
        if (stores_before_failure-- == 0)
            return make_error(ErrorCode::storage_unavailable, "disk full");
        return sizes.emplace(hash, frame.size()).first->second;
    }

    std::mutex mutex;
    std::map<Sha256Digest, std::uint64_t> sizes;
    long stores_before_failure = -1; // negative: never fail
};

} // namespace

TEST_CASE("chunks compressed on an executor give the same manifest", "[nar_upload]") {
    // Repeats, so some chunks are deduplicated within the upload.
    std::string contents;
    for (int round = 0; round < 3; ++round)
        for (int i = 0; i < 4000; ++i)
            contents += std::to_string(i * 7919) + (i % 7 == 0 ? "\n" : ",");
    NarWriter writer;
    REQUIRE(writer.file("", as_bytes(contents)).ok());
    auto nar_bytes = writer.take_output();
    std::string nar(as_chars(nar_bytes));
    MemoryChunkStore serial_store;
    auto serial = upload(nar, serial_store);
    REQUIRE(serial.ok());
    REQUIRE(serial->manifest.chunks.size() > 8);

    ChunkExecutor executor(3, 4);
    auto options = small_chunks();
    options.executor = &executor;
    options.max_in_flight = 3;
    LockedChunkStore parallel_store;
    auto parallel = upload(nar, parallel_store, options);
    REQUIRE(parallel.ok());
    CHECK(parallel->manifest == serial->manifest);
    CHECK(parallel->manifest_hash == serial->manifest_hash);
    CHECK(parallel->stats.new_chunks == serial->stats.new_chunks);
    CHECK(parallel->stats.deduplicated_chunks == serial->stats.deduplicated_chunks);

    LockedChunkStore failing;
    failing.stores_before_failure = 5;
    auto failed = upload(nar, failing, options);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == ErrorCode::storage_unavailable);
}

namespace {

// Fails every store (a bucket that is down) and says when it first did.
class DownChunkStore final : public ChunkStore {
  public:
    Result<std::optional<std::uint64_t>> stored_size(const Sha256Digest&) override {
        return std::optional<std::uint64_t>();
    }
    Result<std::uint64_t> store(const Sha256Digest&, std::uint64_t, ByteView) override {
        ++stores;
        return make_error(ErrorCode::storage_unavailable, "S3 PUT: Couldn't connect to server");
    }
    std::atomic<int> stores{0};
};

// Returns once every job submitted to a one-thread executor before it has run.
void drain(ChunkExecutor& executor) {
    std::promise<void> reached;
    auto done = reached.get_future();
    executor.submit([&reached] { reached.set_value(); });
    done.wait();
}

} // namespace

TEST_CASE("a chunk that failed to store fails the upload at the next piece", "[nar_upload]") {
    std::string contents;
    for (int i = 0; i < 20000; ++i)
        contents += std::to_string(i * 7919) + (i % 7 == 0 ? "\n" : ",");
    NarWriter writer;
    REQUIRE(writer.file("", as_bytes(contents)).ok());
    auto nar_bytes = writer.take_output();
    ByteView nar(nar_bytes);

    // One thread runs the jobs in order, so after drain() every chunk
    // submitted so far has finished.
    ChunkExecutor executor(1, 64);
    auto options = small_chunks();
    options.executor = &executor;
    options.max_in_flight = 8;
    DownChunkStore store;
    auto upload = NarUpload::create(options, UploadCompression::none, store);
    REQUIRE(upload.ok());

    constexpr std::size_t piece = 100;
    std::size_t at = 0;
    auto feed_piece = [&] {
        REQUIRE(at < nar.size());
        auto fed = upload->feed(nar.subspan(at, std::min(piece, nar.size() - at)));
        at += piece;
        return fed;
    };
    // Until the first chunk has been handed over and failed.
    while (store.stores == 0) {
        REQUIRE(feed_piece().ok());
        drain(executor);
    }
    // The next piece gets the error, with the window far from full.
    auto fed = feed_piece();
    REQUIRE_FALSE(fed.ok());
    CHECK(fed.error().code == ErrorCode::storage_unavailable);
    CHECK(at < nar.size() / 4);
    // And so does everything after it: the upload is over.
    CHECK(feed_piece().error().code == ErrorCode::storage_unavailable);
    CHECK(upload->finish().error().code == ErrorCode::storage_unavailable);
}
