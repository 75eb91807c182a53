// MetadataStore on SQLite and PostgreSQL: what GC reads and writes. When NARs
// and chunks become unused and used again, expired paths and the order of
// their removal, the edge's grace for removed paths, and the deletion steps
// against concurrent uploads.
#include "app/gc.hpp"
#include "metadata_support.hpp"

#include <algorithm>

using namespace nixedge;
using namespace nixedge::lab;

namespace {

template <class Backend> struct Fixture {
    Backend db;
    test::TestClock clock;
    std::unique_ptr<MetadataStore> store = test::open_store(db, clock);
    SecretKey key = test::make_key("main-1");

    void create(const std::string& name, const CacheSettings& settings = {}) {
        REQUIRE(store->create_cache(name, settings, key).ok());
    }
    // Records a NAR of `pieces` and publishes it as `label` in `cache`.
    test::RecordedNar publish(const std::string& cache, const std::string& label,
                              const std::vector<std::string>& pieces,
                              std::vector<StorePath> references = {}) {
        auto nar = test::record_nar(*store, pieces);
        auto info = test::make_narinfo(test::store_path(label), nar, key, std::move(references));
        auto published = store->publish_path(cache, info, std::nullopt);
        if (!published)
            FAIL("publish " << label << ": " << published.error().detail);
        return nar;
    }
    std::optional<UnixTime> nar_unused_since(const test::RecordedNar& nar) {
        auto record = store->get_nar(nar.manifest_hash);
        REQUIRE(record.ok());
        REQUIRE(record->has_value());
        return (*record)->unused_since;
    }
    std::optional<UnixTime> chunk_unused_since(const std::string& piece) {
        auto chunk = store->get_chunk(test::digest_of(piece));
        REQUIRE(chunk.ok());
        REQUIRE(chunk->has_value());
        return (*chunk)->unused_since;
    }
    std::vector<std::string> remove(const std::string& cache, std::vector<std::string> hashes,
                                    const PathRemovalRules& rules) {
        auto removal = store->remove_paths(cache, hashes, rules);
        REQUIRE(removal.ok());
        return removal->removed;
    }
};

std::vector<std::string> hashes_of(std::initializer_list<const char*> labels) {
    std::vector<std::string> hashes;
    for (const auto* label : labels)
        hashes.push_back(test::store_hash(label));
    return hashes;
}

} // namespace

TEMPLATE_TEST_CASE("gc: a NAR and its chunks are unused until something uses them, and again "
                   "when that goes",
                   "[metadata][gc]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    const auto t0 = f.clock.now->load();
    auto nar = test::record_nar(*f.store, {"chunk one", "chunk two"});
    CHECK(f.nar_unused_since(nar) == t0);                     // recorded, not yet staged
    CHECK(f.chunk_unused_since("chunk one") == std::nullopt); // a NAR lists it

    f.clock.advance(10);
    REQUIRE(
        f.store->stage_upload("main", "nar/x.nar.zst", nar.manifest_hash, std::chrono::seconds(60))
            .ok());
    CHECK(f.nar_unused_since(nar) == std::nullopt);
    f.clock.advance(100);
    REQUIRE(f.store->expire_staged(f.clock.now->load()).value() == 1);
    CHECK(f.nar_unused_since(nar) == t0 + 110); // the staged upload was its last user

    auto info = test::make_narinfo(test::store_path("p"), nar, f.key);
    REQUIRE(f.store->publish_path("main", info, std::nullopt).ok());
    CHECK(f.nar_unused_since(nar) == std::nullopt);

    f.clock.advance(5);
    PathRemovalRules any;
    CHECK(f.remove("main", hashes_of({"p"}), any) == hashes_of({"p"}));
    CHECK(f.nar_unused_since(nar) == t0 + 115);

    // Recording it again (an upload of the same NAR) restarts its grace period.
    f.clock.advance(7);
    REQUIRE(f.store->record_nar(nar.manifest, std::nullopt).ok());
    CHECK(f.nar_unused_since(nar) == t0 + 122);
}

TEMPLATE_TEST_CASE("gc: a chunk claimed by an upload is unused until a NAR lists it, reusing a "
                   "stored unused chunk restarts its grace period",
                   "[metadata][gc]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    const auto t0 = f.clock.now->load();
    const auto hash = test::digest_of("lonely");
    auto claim = f.store->claim_chunk(hash, 6, 4);
    REQUIRE(claim.ok());
    REQUIRE(f.store->mark_chunk_stored(hash, claim->claim_id).ok());
    CHECK(f.chunk_unused_since("lonely") == t0); // the upload died before its NAR

    f.clock.advance(50);
    auto again = f.store->claim_chunk(hash, 6, 4);
    REQUIRE(again.ok());
    CHECK(again->outcome == ChunkClaimOutcome::already_stored);
    CHECK(f.chunk_unused_since("lonely") == t0 + 50);

    f.clock.advance(50);
    CHECK(f.store->reuse_stored_chunk(hash).value());
    CHECK(f.chunk_unused_since("lonely") == t0 + 100);
    CHECK_FALSE(f.store->reuse_stored_chunk(test::digest_of("never stored")).value());
}

TEMPLATE_TEST_CASE("gc: expired paths are the unpinned ones neither pushed nor read since the "
                   "cutoff",
                   "[metadata][gc]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    f.create("other");
    const auto t0 = f.clock.now->load();
    f.publish("main", "old", {"a"});
    f.publish("main", "pinned", {"b"});
    f.publish("main", "read", {"c"});
    f.publish("other", "elsewhere", {"d"});
    REQUIRE(f.store->set_pinned("main", test::store_hash("pinned"), true).ok());
    f.clock.advance(100);
    f.publish("main", "new", {"e"}, {test::store_path("old")});
    std::vector<std::string> read{test::store_hash("read")};
    REQUIRE(f.store->record_access("main", read, t0 + 100).ok());

    auto expired = f.store->expired_paths("main", t0 + 50);
    REQUIRE(expired.ok());
    REQUIRE(expired->size() == 1);
    CHECK((*expired)[0].store_hash == test::store_hash("old"));
    CHECK((*expired)[0].references.empty());
    auto later = f.store->expired_paths("main", t0 + 101);
    REQUIRE(later.ok());
    REQUIRE(later->size() == 3); // old, read, new: never the pinned one
    CHECK((*later)[2] == ExpiredPath{test::store_hash("new"), {test::store_hash("old")}});
    CHECK(f.store->expired_paths("nope", t0).error().code == ErrorCode::not_found);
}

TEMPLATE_TEST_CASE("gc: a path another path of the cache refers to stays, referrers first "
                   "removes a whole expired closure",
                   "[metadata][gc]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    f.create("other");
    f.publish("main", "dep", {"dep"});
    f.publish("main", "mid", {"mid"}, {test::store_path("dep")});
    f.publish("main", "top", {"top"}, {test::store_path("mid"), test::store_path("dep")});
    // Another cache's reference does not hold a path of this one.
    f.publish("other", "dep", {"dep"});
    f.publish("other", "user", {"user"}, {test::store_path("dep")});
    PathRemovalRules rules;
    rules.keep_referenced = true;

    // dep first: mid refers to it.
    auto removal = f.store->remove_paths("main", hashes_of({"dep", "mid", "top"}), rules);
    REQUIRE(removal.ok());
    CHECK(removal->removed == hashes_of({"top"}));
    REQUIRE(removal->kept.size() == 2);
    CHECK(removal->kept[0].reason == "referenced by " + test::store_path("mid").full());

    f.publish("main", "top", {"top"}, {test::store_path("mid"), test::store_path("dep")});
    auto expired = f.store->expired_paths("main", f.clock.now->load() + 1);
    REQUIRE(expired.ok());
    auto order = referrers_first(*expired);
    CHECK(order == hashes_of({"top", "mid", "dep"}));
    CHECK(f.remove("main", order, rules) == order);
    CHECK(f.store->get_path("other", test::store_hash("dep")).value().has_value());
}

TEMPLATE_TEST_CASE("gc: removal rules: pinned and recently read paths stay, force removes a "
                   "referenced path",
                   "[metadata][gc]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    const auto t0 = f.clock.now->load();
    f.publish("main", "dep", {"dep"});
    f.publish("main", "pinned", {"pinned"});
    f.publish("main", "user", {"user"}, {test::store_path("dep")});
    REQUIRE(f.store->set_pinned("main", test::store_hash("pinned"), true).ok());
    PathRemovalRules gc;
    gc.expired_before = t0 + 1;
    auto removal = f.store->remove_paths("main", hashes_of({"pinned", "missing"}), gc);
    REQUIRE(removal.ok());
    CHECK(removal->removed.empty());
    CHECK(removal->kept ==
          std::vector<KeptPath>{{test::store_hash("pinned"), "pinned"},
                                {test::store_hash("missing"), "not in the cache"}});
    gc.expired_before = t0; // pushed at t0: not before it
    CHECK(f.remove("main", hashes_of({"user"}), gc).empty());

    PathRemovalRules force;
    force.keep_referenced = false;
    CHECK(f.remove("main", hashes_of({"dep"}), force) == hashes_of({"dep"}));
    CHECK_FALSE(f.store->get_path("main", test::store_hash("dep")).value().has_value());
    CHECK(f.store->get_path("main", test::store_hash("user")).value().has_value());
}

TEMPLATE_TEST_CASE("gc: removing an edge path removes its edge objects and keeps its NAR in the "
                   "sync plan until edge_keep_until",
                   "[metadata][gc]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("pub", test::edge_settings());
    f.create("priv");
    const auto t0 = f.clock.now->load();
    auto nar = f.publish("pub", "p", {"edge chunk"});
    f.publish("priv", "q", {"private chunk"});
    test::drain_outbox(*f.store);

    PathRemovalRules rules;
    rules.edge_keep_until = t0 + 100;
    CHECK(f.remove("pub", hashes_of({"p"}), rules) == hashes_of({"p"}));
    CHECK(test::outbox_lines(*f.store) ==
          std::vector<std::string>{"delete " + bucket_key::narinfo("pub", test::store_hash("p")),
                                   "delete " + bucket_key::listing("pub", test::store_hash("p")),
                                   "regenerate " + bucket_key::sync_plan()});
    auto plan = f.store->edge_plan();
    REQUIRE(plan.ok());
    const auto manifest_key = bucket_key::manifest(nar.manifest_hash);
    const auto chunk_key = bucket_key::chunk(test::digest_of("edge chunk"));
    auto lists = [](const std::vector<std::string>& keys, const std::string& key) {
        return std::find(keys.begin(), keys.end(), key) != keys.end();
    };
    CHECK(lists(plan->immutable_keys, manifest_key));
    CHECK(lists(plan->immutable_keys, chunk_key));
    CHECK_FALSE(lists(plan->mutable_keys, bucket_key::narinfo("pub", test::store_hash("p"))));
    CHECK_FALSE(lists(plan->immutable_keys, bucket_key::chunk(test::digest_of("private chunk"))));

    f.clock.advance(100);
    plan = f.store->edge_plan();
    REQUIRE(plan.ok());
    CHECK_FALSE(lists(plan->immutable_keys, manifest_key));
    CHECK_FALSE(lists(plan->immutable_keys, chunk_key));
}

TEMPLATE_TEST_CASE("gc: NARs and chunks are deleted only after their grace period, in order: "
                   "marks, then NAR rows, then chunk claims and rows",
                   "[metadata][gc]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    const auto t0 = f.clock.now->load();
    auto gone = f.publish("main", "gone", {"only gone", "shared"});
    auto kept = f.publish("main", "kept", {"only kept", "shared"});
    CHECK(f.remove("main", hashes_of({"gone"}), PathRemovalRules{}) == hashes_of({"gone"}));

    // Within the grace period (unused since t0): nothing.
    CHECK(f.store->mark_nars_for_deletion(t0, 100).value().empty());
    f.clock.advance(10);
    auto marked = f.store->mark_nars_for_deletion(t0 + 1, 100);
    REQUIRE(marked.ok());
    CHECK(*marked == std::vector<Sha256Digest>{gone.manifest_hash});
    // While GC deletes it, an upload of the same NAR waits.
    CHECK(f.store->record_nar(gone.manifest, std::nullopt).error().code ==
          ErrorCode::storage_unavailable);
    CHECK(
        f.store->stage_upload("main", "nar/y.nar.zst", gone.manifest_hash, std::chrono::seconds(60))
            .error()
            .code == ErrorCode::not_found);
    // Its chunks are still listed by it: no chunk is deletable yet.
    CHECK(f.store->claim_chunks_for_deletion(t0 + 1000, 100).value().empty());

    REQUIRE(f.store->delete_marked_nars(*marked).value() == 1);
    CHECK_FALSE(f.store->get_nar(gone.manifest_hash).value().has_value());
    CHECK(f.chunk_unused_since("only gone") == t0 + 10);
    CHECK(f.chunk_unused_since("shared") == std::nullopt); // "kept" lists it
    CHECK(f.store->claim_chunks_for_deletion(t0 + 10, 100).value().empty());

    auto claimed = f.store->claim_chunks_for_deletion(t0 + 11, 100);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 1);
    CHECK((*claimed)[0].hash == test::digest_of("only gone"));
    // An upload of that chunk meanwhile waits for GC's claim...
    auto during = f.store->claim_chunk(test::digest_of("only gone"), 9, 5);
    REQUIRE(during.ok());
    CHECK(during->outcome == ChunkClaimOutcome::claimed_by_other);
    CHECK_FALSE(f.store->reuse_stored_chunk(test::digest_of("only gone")).value());
    REQUIRE(f.store->delete_claimed_chunks(*claimed).value() == 1);
    // ... and stores it anew afterwards.
    auto after = f.store->claim_chunk(test::digest_of("only gone"), 9, 5);
    REQUIRE(after.ok());
    CHECK(after->outcome == ChunkClaimOutcome::claimed_by_me);
    CHECK(f.store->get_nar(kept.manifest_hash).value().has_value());
}

TEMPLATE_TEST_CASE("gc: a NAR used again before it is marked stays, a dead GC's mark is taken "
                   "back by an upload after the claim timeout",
                   "[metadata][gc]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    auto nar = test::record_nar(*f.store, {"x"});
    f.clock.advance(100);
    REQUIRE(
        f.store->stage_upload("main", "nar/x.nar.zst", nar.manifest_hash, std::chrono::seconds(600))
            .ok());
    CHECK(f.store->mark_nars_for_deletion(f.clock.now->load(), 100).value().empty());
    REQUIRE(f.store->expire_staged(f.clock.now->load() + 600).value() == 1);

    f.clock.advance(1000);
    auto marked = f.store->mark_nars_for_deletion(f.clock.now->load(), 100);
    REQUIRE(marked.ok());
    REQUIRE(marked->size() == 1);
    f.clock.advance(3600); // the claim timeout: that GC died
    REQUIRE(f.store->record_nar(nar.manifest, std::nullopt).ok());
    CHECK(f.store->delete_marked_nars(*marked).value() == 0);
    CHECK(f.store->get_nar(nar.manifest_hash).value().has_value());
}

TEMPLATE_TEST_CASE("gc: destroying an edge cache keeps its NARs in the sync plan for the grace",
                   "[metadata][gc]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("pub", test::edge_settings());
    auto nar = f.publish("pub", "p", {"edge chunk"});
    REQUIRE(f.store->destroy_cache("pub", f.clock.now->load() + 50).ok());
    CHECK(f.nar_unused_since(nar) == f.clock.now->load());
    auto plan = f.store->edge_plan();
    REQUIRE(plan.ok());
    CHECK(std::count(plan->immutable_keys.begin(), plan->immutable_keys.end(),
                     bucket_key::manifest(nar.manifest_hash)) == 1);
    CHECK(plan->mutable_keys == std::vector<std::string>{bucket_key::layout_marker()});
}

TEMPLATE_TEST_CASE("gc: runs take turns through the GC lock, across processes", "[metadata][gc]",
                   test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    auto second = test::open_store(f.db, f.clock); // another replica on the same database
    bool inner_ran = false;
    auto outer = f.store->try_with_gc_lock([&]() -> Result<void> {
        auto inner = second->try_with_gc_lock([&]() -> Result<void> {
            inner_ran = true;
            return {};
        });
        REQUIRE(inner.ok());
        CHECK_FALSE(*inner);
        return {};
    });
    REQUIRE(outer.ok());
    CHECK(*outer);
    CHECK_FALSE(inner_ran);
    auto free_again = second->try_with_gc_lock([] { return Result<void>{}; });
    REQUIRE(free_again.ok());
    CHECK(*free_again);

    CHECK_FALSE(f.store->last_gc_run().value().has_value());
    GcRun run{100, std::nullopt, false, "running"};
    REQUIRE(f.store->record_gc_run(run).ok());
    CHECK(second->last_gc_run().value() == run);
    run.finished_at = 105;
    run.succeeded = true;
    run.summary = "removed 1 path";
    REQUIRE(f.store->record_gc_run(run).ok());
    CHECK(second->last_gc_run().value() == run);
}
