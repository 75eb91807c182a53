// BucketChunkStore (claim in the database, write to the bucket, mark stored)
// over a bucket that fails while it is "down", as an S3 endpoint that stops.
#include "ingest/bucket_chunk_store.hpp"
#include "metadata_support.hpp"
#include "nixedge/bucket_layout.hpp"
#include "storage/local_storage.hpp"

#include <atomic>

using namespace nixedge;
using namespace nixedge::lab;
using nixedge::test::TestClock;

namespace {

class FlakyStorage final : public Storage {
  public:
    explicit FlakyStorage(std::unique_ptr<Storage> inner) : inner_(std::move(inner)) {}
    Result<bool> exists(std::string_view key) override { return inner_->exists(key); }
    Result<void> put(std::string_view key, ByteView bytes) override {
        if (down)
            return make_error(ErrorCode::storage_unavailable, "S3 PUT: Couldn't connect to server");
        return inner_->put(key, bytes);
    }
    Result<std::unique_ptr<ObjectReader>> get(std::string_view key) override {
        return inner_->get(key);
    }
    Result<void> remove(std::string_view key) override { return inner_->remove(key); }

    std::atomic<bool> down = false;

  private:
    std::unique_ptr<Storage> inner_;
};

} // namespace

TEST_CASE("bucket chunk store: a chunk whose write failed is stored by the next try at once",
          "[bucket_chunk_store]") {
    test::SqliteBackend db;
    TestClock clock;
    auto metadata = test::open_store(db, clock);
    test::TempDir bucket;
    FlakyStorage storage(LocalStorage::open(bucket.path()).value());
    // No waiting for another writer: a claim the failed write kept would
    // fail the retry at once ("being stored by another upload").
    BucketChunkStore chunks(*metadata, storage, {.wait_for_other_writer = {}});
    const std::string frame_text = "a zstd frame";
    const auto frame = as_bytes(frame_text);
    const auto hash = test::digest_of("raw chunk");

    storage.down = true;
    auto failed = chunks.store(hash, 9, frame);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == ErrorCode::storage_unavailable);
    CHECK(metadata->get_chunk(hash).value()->state == ChunkState::claimed);
    CHECK_FALSE(chunks.stored_size(hash).value());

    storage.down = false;
    auto stored = chunks.store(hash, 9, frame);
    REQUIRE(stored.ok());
    CHECK(*stored == frame.size());
    CHECK(metadata->get_chunk(hash).value()->state == ChunkState::stored);
    CHECK(storage.exists(bucket_key::chunk(hash)).value());
}
