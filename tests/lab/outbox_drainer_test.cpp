// OutboxDrainer (outbox/outbox_drainer.cpp) over a recording bucket: the order
// of the bucket calls, consecutive removals in one remove_many, and what a
// failure leaves in the outbox.
#include "outbox/outbox_drainer.hpp"

#include "metadata_support.hpp"
#include "storage/local_storage.hpp"

using namespace nixedge;
using namespace nixedge::lab;

namespace {

// The bucket calls as lines ("put k", "remove k", "remove_many k1 k2"); a
// call naming `failing` fails.
class RecordingStorage final : public Storage {
  public:
    explicit RecordingStorage(std::shared_ptr<Storage> inner) : inner_(std::move(inner)) {}
    std::vector<std::string> calls;
    std::string failing;

    Result<bool> exists(std::string_view key) override { return inner_->exists(key); }
    Result<void> put(std::string_view key, ByteView bytes) override {
        calls.push_back("put " + std::string(key));
        if (key == failing)
            return down();
        return inner_->put(key, bytes);
    }
    Result<std::unique_ptr<ObjectReader>> get(std::string_view key) override {
        return inner_->get(key);
    }
    Result<void> remove(std::string_view key) override {
        calls.push_back("remove " + std::string(key));
        if (key == failing)
            return down();
        return inner_->remove(key);
    }
    Result<void> remove_many(std::span<const std::string> keys) override {
        std::string line = "remove_many";
        for (const auto& key : keys)
            line += " " + key;
        calls.push_back(line);
        for (const auto& key : keys)
            if (key == failing)
                return down();
        return inner_->remove_many(keys);
    }

  private:
    static Error down() { return make_error(ErrorCode::storage_unavailable, "the bucket is down"); }
    std::shared_ptr<Storage> inner_;
};

struct DrainerFixture {
    test::SqliteBackend db;
    test::TestClock clock;
    std::shared_ptr<MetadataStore> store = test::open_store(db, clock);
    test::TempDir bucket_dir;
    std::shared_ptr<RecordingStorage> storage = std::make_shared<RecordingStorage>(
        std::shared_ptr<Storage>(LocalStorage::open(bucket_dir.path()).value()));
    OutboxDrainer drainer{store, storage};

    void enqueue(OutboxOp op, const std::string& key) {
        REQUIRE(store->enqueue(op, key, op == OutboxOp::put ? "body of " + key : "").ok());
    }
    bool has(const std::string& key) { return storage->exists(key).value(); }
};

} // namespace

TEST_CASE("outbox drainer: consecutive removals go in one remove_many, in order with the rest",
          "[outbox]") {
    DrainerFixture f;
    for (std::string key : {"main/a.narinfo", "main/a.ls", "main/b.narinfo", "main/c.narinfo"})
        REQUIRE(f.storage->put(key, to_bytes("old")).ok());
    f.storage->calls.clear();
    f.enqueue(OutboxOp::put, "main/c.narinfo");
    f.enqueue(OutboxOp::remove, "main/a.narinfo");
    f.enqueue(OutboxOp::remove, "main/a.ls");
    f.enqueue(OutboxOp::remove, "main/b.narinfo");
    f.enqueue(OutboxOp::put, "main/b.narinfo");
    f.enqueue(OutboxOp::remove, "main/c.narinfo");
    f.enqueue(OutboxOp::put, "main/d.narinfo");

    auto drained = f.drainer.drain();
    REQUIRE(drained.ok());
    CHECK(f.storage->calls ==
          std::vector<std::string>{
              "put main/c.narinfo", "remove_many main/a.narinfo main/a.ls main/b.narinfo",
              "put main/b.narinfo", "remove main/c.narinfo", "put main/d.narinfo"});
    CHECK(drained->removed == 4);
    CHECK(drained->written == 3);
    CHECK(f.store->pending_outbox(10).value().empty());
    CHECK_FALSE(f.has("main/a.narinfo"));
    CHECK_FALSE(f.has("main/a.ls"));
    CHECK(f.has("main/b.narinfo")); // removed, then put again
    CHECK_FALSE(f.has("main/c.narinfo"));
    CHECK(f.has("main/d.narinfo"));
}

TEST_CASE("outbox drainer: a failed run of removals keeps every entry of it, the first marked "
          "failed, and the next drain finishes",
          "[outbox]") {
    DrainerFixture f;
    f.enqueue(OutboxOp::put, "main/x.narinfo");
    f.enqueue(OutboxOp::remove, "main/a.narinfo");
    f.enqueue(OutboxOp::remove, "main/b.narinfo");
    f.enqueue(OutboxOp::put, "main/y.narinfo");
    f.storage->failing = "main/b.narinfo";

    auto failed = f.drainer.drain();
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == ErrorCode::storage_unavailable);
    CHECK(failed.error().detail ==
          "removing main/a.narinfo and 1 more from the bucket: the bucket is down");
    CHECK_FALSE(f.has("main/y.narinfo")); // nothing after the failure
    auto pending = f.store->pending_outbox(10).value();
    REQUIRE(pending.size() == 3);
    CHECK(pending[0].key == "main/a.narinfo");
    CHECK(pending[0].attempts == 1);
    CHECK(pending[0].last_error == "the bucket is down");
    CHECK(pending[1].key == "main/b.narinfo");
    CHECK(pending[2].key == "main/y.narinfo");
    CHECK(f.has("main/x.narinfo"));

    // A single removal failing reads as before.
    f.storage->failing.clear();
    f.storage->calls.clear();
    REQUIRE(f.drainer.drain().ok());
    CHECK(f.storage->calls == std::vector<std::string>{"remove_many main/a.narinfo main/b.narinfo",
                                                       "put main/y.narinfo"});
    CHECK(f.store->pending_outbox(10).value().empty());

    f.enqueue(OutboxOp::remove, "main/z.narinfo");
    f.storage->failing = "main/z.narinfo";
    auto single = f.drainer.drain();
    REQUIRE_FALSE(single.ok());
    CHECK(single.error().detail == "writing main/z.narinfo to the bucket: the bucket is down");
    CHECK(f.storage->calls.back() == "remove main/z.narinfo");
}
