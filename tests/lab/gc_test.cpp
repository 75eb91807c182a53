// GC's driver (app/gc.cpp) against a lab whose paths were pushed through the
// real route table: what a run leaves when the bucket fails under it, and a
// push racing a run. The database steps themselves are in metadata_gc_test.cpp.
#include "app/gc.hpp"
#include "lab_support.hpp"
#include "nixedge/bucket_layout.hpp"
#include "storage/storage.hpp"

#include <atomic>
#include <random>

using namespace nixedge;
using namespace nixedge::test;
using lab::Permission;
using lab::http::Status;
using lab::http::Verb;

namespace {

// The lab's bucket, whose removals fail while `fail_removals` is set.
class FlakyRemovals final : public lab::Storage {
  public:
    explicit FlakyRemovals(std::shared_ptr<lab::Storage> inner) : inner_(std::move(inner)) {}
    std::atomic<bool> fail_removals{false};

    Result<bool> exists(std::string_view key) override { return inner_->exists(key); }
    Result<void> put(std::string_view key, ByteView bytes) override {
        return inner_->put(key, bytes);
    }
    Result<std::unique_ptr<lab::ObjectReader>> get(std::string_view key) override {
        return inner_->get(key);
    }
    Result<void> remove(std::string_view key) override {
        if (fail_removals)
            return make_error(ErrorCode::storage_unavailable, "the bucket is down");
        ++keys_removed;
        return inner_->remove(key);
    }
    // Counted, then Storage's own: one remove per key.
    std::atomic<int> remove_many_calls{0}, keys_removed{0};
    Result<void> remove_many(std::span<const std::string> keys) override {
        ++remove_many_calls;
        return Storage::remove_many(keys);
    }

  private:
    std::shared_ptr<lab::Storage> inner_;
};

// Unused for longer than -1 s: everything unused, without waiting a second.
lab::GcOptions no_grace() {
    lab::GcOptions options;
    options.orphan_grace = std::chrono::seconds(-1);
    return options;
}

struct GcLab {
    LabFixture f;
    std::shared_ptr<FlakyRemovals> storage = std::make_shared<FlakyRemovals>(f.lab.storage);
    std::string token;
    lab::OutboxDrainer drainer{f.lab.metadata, storage};

    GcLab() {
        f.lab.storage = storage;
        f.create_cache("main");
        token = f.token({{"*", Permission::pull}, {"*", Permission::push}});
    }
    Sha256Digest manifest_of(const StorePath& path) {
        auto record = f.lab.metadata->get_path("main", path.hash);
        REQUIRE(record);
        REQUIRE(*record);
        return (*record)->manifest_hash;
    }
    bool has(const std::string& key) { return storage->exists(key).value(); }
    void delete_path(const StorePath& path) {
        std::vector<std::string> hashes{path.hash};
        auto removal = lab::delete_paths(f.lab, drainer, "main", hashes, false);
        REQUIRE(removal);
        REQUIRE(removal->removed == hashes);
    }
    Result<lab::GcReport> gc() { return lab::run_gc(f.lab, drainer, no_grace()); }
};

} // namespace

TEST_CASE("gc: a bucket failing during a run leaves the NAR marked and served nowhere, the next "
          "run finishes",
          "[gc]") {
    GcLab g;
    const auto path = path_named("gone");
    const auto nar = file_nar("contents of a path that will be deleted");
    REQUIRE(push_path(g.f, "main", g.token, path, nar) == Status::ok);
    const auto manifest = g.manifest_of(path);
    const auto chunks = g.f.lab.metadata->manifest(manifest).value()->chunks;
    g.delete_path(path);

    g.storage->fail_removals = true;
    auto failed = g.gc();
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == ErrorCode::storage_unavailable);
    CHECK(g.has(bucket_key::manifest(manifest)));
    CHECK(g.f.lab.metadata->get_nar(manifest).value().has_value()); // marked, not deleted
    auto last = g.f.lab.metadata->last_gc_run().value();
    REQUIRE(last);
    CHECK_FALSE(last->succeeded);
    CHECK(last->summary == "the bucket is down");

    g.storage->fail_removals = false;
    auto report = g.gc();
    REQUIRE(report);
    CHECK(report->nars_deleted == 1);
    CHECK(report->chunks_deleted == chunks.size());
    CHECK_FALSE(g.has(bucket_key::manifest(manifest)));
    for (const auto& chunk : chunks)
        CHECK_FALSE(g.has(bucket_key::chunk(chunk.hash)));
    CHECK(g.f.lab.metadata->last_gc_run().value()->succeeded);
}

TEST_CASE("gc: a push of a NAR that GC is deleting gets 503 and changes nothing, afterwards the "
          "same push stores it anew",
          "[gc]") {
    GcLab g;
    const auto path = path_named("again");
    const auto nar = file_nar("contents pushed, deleted, and pushed again");
    REQUIRE(push_path(g.f, "main", g.token, path, nar) == Status::ok);
    const auto manifest = g.manifest_of(path);
    g.delete_path(path);

    // A run that has marked the NAR and not yet deleted it.
    auto marked = g.f.lab.metadata->mark_nars_for_deletion(lab::system_clock_now() + 1, 10);
    REQUIRE(marked);
    REQUIRE(*marked == std::vector<Sha256Digest>{manifest});
    auto put = g.f.call(Verb::put, "/main/" + nix_nar_url(nar), g.token, nar);
    REQUIRE(put);
    CHECK(put->status == Status::service_unavailable);
    CHECK_THAT(put->body, Catch::Contains("storage_unavailable"));
    REQUIRE(g.storage->remove(bucket_key::manifest(manifest)));
    REQUIRE(g.f.lab.metadata->delete_marked_nars(*marked).value() == 1);

    REQUIRE(push_path(g.f, "main", g.token, path, nar) == Status::ok);
    CHECK(g.manifest_of(path) == manifest);
    CHECK(g.has(bucket_key::manifest(manifest)));
    CHECK(served_nar(g.f, "main", g.token, path) == nar);
}

TEST_CASE("gc: expired paths go referrers first, a referenced path stays while its referrer does",
          "[gc]") {
    std::vector<lab::ExpiredPath> expired{
        {"dep", {}}, {"top", {"mid", "dep"}}, {"mid", {"dep", "outside"}}, {"lone", {}}};
    CHECK(lab::referrers_first(expired) == std::vector<std::string>{"top", "lone", "mid", "dep"});
    std::vector<lab::ExpiredPath> cycle{{"a", {"b"}}, {"b", {"a"}}, {"c", {"c"}}};
    CHECK(lab::referrers_first(cycle) == std::vector<std::string>{"c", "a", "b"});
}

TEST_CASE("gc: a run asked to stop ends between batches and says so, the next run goes on",
          "[gc]") {
    GcLab g;
    const auto path = path_named("stop");
    REQUIRE(push_path(g.f, "main", g.token, path, file_nar("stopped before deletion")) ==
            Status::ok);
    const auto manifest = g.manifest_of(path);
    g.delete_path(path);
    std::stop_source stop;
    stop.request_stop();
    auto options = no_grace();
    options.stop = stop.get_token();
    auto stopped = lab::run_gc(g.f.lab, g.drainer, options);
    REQUIRE(stopped);
    CHECK(stopped->interrupted);
    CHECK(stopped->nars_deleted == 0);
    CHECK_THAT(lab::format_gc_report(*stopped),
               Catch::EndsWith("(stopped early; the next run goes on)"));
    CHECK(g.has(bucket_key::manifest(manifest)));
    auto next = g.gc();
    REQUIRE(next);
    CHECK_FALSE(next->interrupted);
    CHECK(next->nars_deleted == 1);
}

TEST_CASE("gc: objects go many keys a call, and none once the deletion window is over", "[gc]") {
    GcLab g;
    const auto path = path_named("many-chunks");
    std::string contents(6 << 20, '\0');
    std::mt19937 random(7);
    for (auto& c : contents)
        c = static_cast<char>(random());
    const auto nar = file_nar(contents);
    REQUIRE(push_path(g.f, "main", g.token, path, nar) == Status::ok);
    const auto manifest = g.manifest_of(path);
    const auto chunks = g.f.lab.metadata->manifest(manifest).value()->chunks;
    REQUIRE(chunks.size() > 3);
    g.delete_path(path);

    auto closed = no_grace();
    closed.deletion_window = std::chrono::seconds(-1);
    auto failed = lab::run_gc(g.f.lab, g.drainer, closed);
    REQUIRE_FALSE(failed);
    CHECK_THAT(failed.error().detail, Catch::Contains("deletion window"));
    CHECK(g.has(bucket_key::manifest(manifest)));

    g.storage->remove_many_calls = 0;
    g.storage->keys_removed = 0;
    auto report = g.gc();
    REQUIRE(report);
    CHECK(report->chunks_deleted == chunks.size());
    CHECK(g.storage->keys_removed == static_cast<int>(chunks.size()) + 1);
    CHECK(g.storage->remove_many_calls == 2); // the manifest, then every chunk
    CHECK_FALSE(g.has(bucket_key::manifest(manifest)));
    for (const auto& chunk : chunks)
        CHECK_FALSE(g.has(bucket_key::chunk(chunk.hash)));
}
