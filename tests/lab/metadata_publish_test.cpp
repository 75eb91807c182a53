// MetadataStore on SQLite and PostgreSQL: publishing (one transaction, immutable narinfos), the
// queries of the read path, GC inputs and the outbox.
#include "metadata_support.hpp"
#include "push/held_paths.hpp"

#include <algorithm>
#include <thread>

using namespace nixedge;
using namespace nixedge::lab;
using nixedge::test::TempDir;
using nixedge::test::TestClock;

namespace {

template <class Backend> struct Fixture {
    Backend db;
    TestClock clock;
    std::unique_ptr<MetadataStore> store = test::open_store(db, clock);
    SecretKey key = test::make_key("main-1");

    void create(const std::string& name, const CacheSettings& settings = {}) {
        REQUIRE(store->create_cache(name, settings, key).ok());
    }
    NarInfo narinfo(const std::string& label, const test::RecordedNar& nar,
                    std::vector<StorePath> references = {}) {
        return test::make_narinfo(test::store_path(label), nar, key, std::move(references));
    }
    Result<PublishOutcome> publish(const std::string& cache, const NarInfo& info,
                                   std::optional<std::string_view> staged = std::nullopt) {
        return store->publish_path(cache, info, staged);
    }
    std::string count(const char* table) {
        return db.scalar(std::string("SELECT count(*) FROM ") + table);
    }
};

} // namespace

TEMPLATE_TEST_CASE("publish: one transaction makes the path readable", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    auto dep = test::record_nar(*f.store, {"dependency"});
    auto nar = test::record_nar(*f.store, {"app part 1", "app part 2"}, std::string("{\"v\":1}"));
    auto dep_info = f.narinfo("dep", dep);
    auto info = f.narinfo("app", nar, {test::store_path("dep"), test::store_path("app")});
    info.deriver = StorePath{test::store_hash("drv"), "app.drv"};
    info.ca = "";

    REQUIRE(f.publish("main", dep_info).value() == PublishOutcome::published);
    f.clock.advance(30);
    REQUIRE(f.publish("main", info).value() == PublishOutcome::published);

    const auto hash = test::store_hash("app");
    auto text = f.store->narinfo("main", hash);
    REQUIRE(text.ok());
    CHECK(*text == std::optional<std::string>(serialize_narinfo(info)));
    auto parsed = parse_narinfo(**text);
    REQUIRE(parsed.ok());
    TrustedKeys trusted;
    REQUIRE(trusted.add(f.key.public_key()).ok());
    CHECK(verify_narinfo(*parsed, trusted) == std::optional<std::string>("main-1"));

    auto path = f.store->get_path("main", hash).value();
    REQUIRE(path);
    CHECK(path->cache == "main");
    CHECK(path->store_path == info.store_path);
    CHECK(path->manifest_hash == nar.manifest_hash);
    CHECK(path->nar_hash == nar.manifest.nar_hash);
    CHECK(path->nar_size == nar.manifest.nar_size);
    CHECK(path->references == info.references);
    CHECK(path->deriver == info.deriver);
    CHECK(path->ca.empty());
    CHECK(path->pushed_at == 1'700'000'030);
    CHECK(path->last_accessed_at == 1'700'000'030);
    CHECK_FALSE(path->pinned);

    CHECK(f.store->listing("main", hash).value() == std::optional<std::string>("{\"v\":1}"));
    CHECK(f.store->listing("main", test::store_hash("dep")).value() == std::nullopt);
    CHECK(f.store->narinfo("main", test::store_hash("none")).value() == std::nullopt);
    CHECK(f.store->get_path("main", test::store_hash("none")).value() == std::nullopt);
}

TEMPLATE_TEST_CASE("publish: the same NarHash again is a no-op, another one a conflict",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    auto nar = test::record_nar(*f.store, {"original"});
    auto other = test::record_nar(*f.store, {"different"});
    auto info = f.narinfo("p", nar);
    REQUIRE(f.publish("main", info).value() == PublishOutcome::published);
    auto before = f.store->narinfo("main", test::store_hash("p")).value();

    f.clock.advance(10);
    CHECK(f.publish("main", info).value() == PublishOutcome::unchanged);
    auto changed = f.narinfo("p", other);
    auto conflict = f.publish("main", changed);
    REQUIRE_FALSE(conflict.ok());
    CHECK(conflict.error().code == ErrorCode::conflict);

    CHECK(f.store->narinfo("main", test::store_hash("p")).value() == before);
    CHECK(f.store->get_path("main", test::store_hash("p")).value()->pushed_at == 1'700'000'000);
    // The same path may hold other bytes in another cache.
    f.create("other");
    CHECK(f.publish("other", changed).value() == PublishOutcome::published);
}

TEMPLATE_TEST_CASE("publish: references must be in the cache unless it allows upstream ones",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("strict");
    CacheSettings lenient;
    lenient.allow_upstream_references = true;
    f.create("lenient", lenient);
    auto nar = test::record_nar(*f.store, {"bytes"});
    auto info = f.narinfo("app", nar, {test::store_path("glibc"), test::store_path("app")});

    auto refused = f.publish("strict", info);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::invalid_argument);
    CHECK_THAT(refused.error().detail, Catch::Contains(test::store_path("glibc").base_name()));
    CHECK(f.store->narinfo("strict", test::store_hash("app")).value() == std::nullopt);

    CHECK(f.publish("lenient", info).value() == PublishOutcome::published);
    // Once the dependency is in, the strict cache takes it (self-reference is fine).
    auto glibc = test::record_nar(*f.store, {"libc"});
    REQUIRE(f.publish("strict", f.narinfo("glibc", glibc)).ok());
    CHECK(f.publish("strict", info).value() == PublishOutcome::published);
}

TEMPLATE_TEST_CASE("publish: the narinfo must describe the recorded NAR", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    auto nar = test::record_nar(*f.store, {"content"});
    auto good = f.narinfo("p", nar);

    auto wrong_hash = good;
    wrong_hash.nar_hash = NixHash{test::digest_of("other")};
    auto wrong_size = good;
    wrong_size.nar_size += 1;
    auto wrong_file_size = good;
    wrong_file_size.file_size = *good.file_size + 1;
    auto unsigned_info = good;
    unsigned_info.signatures.clear();
    auto bzip2 = good;
    bzip2.compression = "bzip2";
    auto foreign_url = good;
    foreign_url.url = "nar/1b2m2y8asgtpgamy7ph1jv5ndm37a2wk2gxgqhbl6aplp0q2m7sy.nar.xz";
    for (const auto* info :
         {&wrong_hash, &wrong_size, &wrong_file_size, &unsigned_info, &bzip2, &foreign_url}) {
        auto result = f.publish("main", *info);
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().code == ErrorCode::invalid_argument);
    }
    auto unknown_nar = good;
    unknown_nar.url = nar_url(test::digest_of("no such manifest"));
    CHECK(f.publish("main", unknown_nar).error().code == ErrorCode::not_found);
    CHECK(f.publish("none", good).error().code == ErrorCode::not_found);
    CHECK(f.count("paths") == "0");
    CHECK(f.publish("main", good).value() == PublishOutcome::published);
}

TEMPLATE_TEST_CASE("publish: consumes the staged upload in the same transaction", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    auto nar = test::record_nar(*f.store, {"staged nar"});
    const auto hour = std::chrono::hours(1);
    REQUIRE(f.store->stage_upload("main", "nar/filehash.nar.zst", nar.manifest_hash, hour).ok());
    REQUIRE(f.store->stage_upload("main", "nar/again.nar.zst", nar.manifest_hash, hour).ok());

    // A failed publish leaves the upload staged.
    auto bad = f.narinfo("p", nar);
    bad.nar_size += 1;
    CHECK_FALSE(f.publish("main", bad, "nar/filehash.nar.zst").ok());
    CHECK(f.store->find_staged("main", "nar/filehash.nar.zst").value().has_value());

    auto info = f.narinfo("p", nar);
    REQUIRE(f.publish("main", info, "nar/filehash.nar.zst").value() == PublishOutcome::published);
    CHECK(f.store->find_staged("main", "nar/filehash.nar.zst").value() == std::nullopt);
    // A repeated narinfo PUT consumes its own staged upload as a no-op.
    REQUIRE(f.publish("main", info, "nar/again.nar.zst").value() == PublishOutcome::unchanged);
    CHECK(f.count("staged_uploads") == "0");
}

TEMPLATE_TEST_CASE("reads: a NAR is served only under a cache that has a path using it",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    f.create("private");
    auto nar = test::record_nar(*f.store, {"shared content"});
    REQUIRE(
        f.store->stage_upload("private", "nar/x", nar.manifest_hash, std::chrono::hours(1)).ok());
    CHECK_FALSE(f.store->cache_has_manifest("main", nar.manifest_hash).value());
    CHECK_FALSE(f.store->cache_has_manifest("private", nar.manifest_hash).value());
    REQUIRE(f.publish("main", f.narinfo("p", nar)).ok());
    CHECK(f.store->cache_has_manifest("main", nar.manifest_hash).value());
    CHECK_FALSE(f.store->cache_has_manifest("private", nar.manifest_hash).value());
    CHECK_FALSE(f.store->cache_has_manifest("none", nar.manifest_hash).value());
}

TEMPLATE_TEST_CASE("reads: missing paths", "[metadata]", test::SqliteBackend,
                   test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    auto nar = test::record_nar(*f.store, {"x"});
    REQUIRE(f.publish("main", f.narinfo("have", nar)).ok());
    std::vector<std::string> asked{test::store_hash("have"), test::store_hash("lack"),
                                   test::store_hash("also")};
    auto missing = f.store->missing_paths("main", asked);
    REQUIRE(missing.ok());
    CHECK(*missing == std::vector<std::string>{asked[1], asked[2]});
    CHECK(f.store->missing_paths("none", asked).error().code == ErrorCode::not_found);
}

TEMPLATE_TEST_CASE("gc inputs: pins and access times", "[metadata]", test::SqliteBackend,
                   test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    auto nar = test::record_nar(*f.store, {"x"});
    REQUIRE(f.publish("main", f.narinfo("p", nar)).ok());
    const auto hash = test::store_hash("p");

    REQUIRE(f.store->set_pinned("main", hash, true).ok());
    CHECK(f.store->get_path("main", hash).value()->pinned);
    REQUIRE(f.store->set_pinned("main", hash, false).ok());
    CHECK_FALSE(f.store->get_path("main", hash).value()->pinned);
    CHECK(f.store->set_pinned("main", test::store_hash("q"), true).error().code ==
          ErrorCode::not_found);

    std::vector<std::string> read{hash, test::store_hash("gone")};
    REQUIRE(f.store->record_access("main", read, 1'700'000'500).ok());
    CHECK(f.store->get_path("main", hash).value()->last_accessed_at == 1'700'000'500);
    // A late batch with an older time does not move it back.
    REQUIRE(f.store->record_access("main", read, 1'700'000'100).ok());
    CHECK(f.store->get_path("main", hash).value()->last_accessed_at == 1'700'000'500);
}

// ---- the outbox ----

TEMPLATE_TEST_CASE("outbox: publishing to an edge cache enqueues its objects and the plan",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("edge", test::edge_settings());
    f.create("lab"); // private: nothing ever leaves the lab
    CacheSettings private_edge;
    private_edge.edge_enabled = true;
    f.create("secret", private_edge);
    CHECK(test::outbox_lines(*f.store) ==
          std::vector<std::string>{"regenerate edge/nix-cache-info", "regenerate sync/plan"});
    test::drain_outbox(*f.store);

    auto nar = test::record_nar(*f.store, {"x"});
    REQUIRE(f.publish("lab", f.narinfo("p", nar)).ok());
    REQUIRE(f.publish("secret", f.narinfo("p", nar)).ok());
    CHECK(test::outbox_lines(*f.store).empty());

    REQUIRE(f.publish("edge", f.narinfo("p", nar)).ok());
    const auto hash = test::store_hash("p");
    CHECK(test::outbox_lines(*f.store) ==
          std::vector<std::string>{"regenerate " + bucket_key::narinfo("edge", hash),
                                   "regenerate " + bucket_key::listing("edge", hash),
                                   "regenerate sync/plan"});
    // A no-op publish owes the bucket nothing.
    test::drain_outbox(*f.store);
    REQUIRE(f.publish("edge", f.narinfo("p", nar)).value() == PublishOutcome::unchanged);
    CHECK(test::outbox_lines(*f.store).empty());
}

// SQLite only: the failure is injected with a SQLite trigger.
TEST_CASE("outbox: a failed publish leaves no outbox row and no path", "[metadata]") {
    Fixture<test::SqliteBackend> f;
    f.create("edge", test::edge_settings());
    test::drain_outbox(*f.store);
    auto nar = test::record_nar(*f.store, {"x"});
    auto other = test::record_nar(*f.store, {"y"});
    REQUIRE(f.publish("edge", f.narinfo("p", nar)).ok());
    test::drain_outbox(*f.store);

    // Refused before anything is written: a conflicting re-push.
    CHECK(f.publish("edge", f.narinfo("p", other)).error().code == ErrorCode::conflict);
    CHECK(f.count("outbox") == "0");

    // Failing after the path row and the first outbox rows are written: a
    // trigger makes the last insert of the transaction fail.
    {
        auto c = SqliteConnection::open(f.db.file(), std::chrono::milliseconds(1000));
        REQUIRE(c.ok());
        REQUIRE((*c)->exec("CREATE TRIGGER fail_plan BEFORE INSERT ON outbox "
                           "WHEN NEW.object_key = 'sync/plan' "
                           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;")
                    .ok());
    }
    auto failed = f.publish("edge", f.narinfo("q", other), "nar/q");
    REQUIRE_FALSE(failed.ok());
    CHECK_THAT(failed.error().detail, Catch::Contains("injected failure"));
    CHECK(f.count("outbox") == "0");
    CHECK(f.count("paths") == "1");
    CHECK(f.count("path_references") == "0");
    CHECK(f.store->narinfo("edge", test::store_hash("q")).value() == std::nullopt);
}

TEMPLATE_TEST_CASE("outbox: entries drain in order, failures keep their place", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    auto a = f.store->enqueue(OutboxOp::put, "nixedge-layout", "1");
    auto b = f.store->enqueue(OutboxOp::remove, "main/x.narinfo", "");
    auto c = f.store->enqueue(OutboxOp::regenerate, "sync/plan", "");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(c.ok());
    CHECK(*a < *b);
    CHECK(*b < *c);

    auto pending = f.store->pending_outbox(2).value();
    REQUIRE(pending.size() == 2);
    CHECK(pending[0].id == *a);
    CHECK(pending[0].op == OutboxOp::put);
    CHECK(pending[0].key == "nixedge-layout");
    CHECK(pending[0].payload == "1");
    CHECK(pending[0].created_at == 1'700'000'000);
    CHECK(pending[1].op == OutboxOp::remove);

    REQUIRE(f.store->fail_outbox(*a, "bucket unreachable").ok());
    REQUIRE(f.store->fail_outbox(*a, "still unreachable").ok());
    pending = f.store->pending_outbox(10).value();
    REQUIRE(pending.size() == 3);
    CHECK(pending[0].id == *a);
    CHECK(pending[0].attempts == 2);
    CHECK(pending[0].last_error == "still unreachable");

    REQUIRE(f.store->complete_outbox(*a).ok());
    REQUIRE(f.store->complete_outbox(*a).ok()); // a second drainer's late completion
    pending = f.store->pending_outbox(10).value();
    REQUIRE(pending.size() == 2);
    CHECK(pending[0].id == *b);

    // Ids are never reused, even after the newest entry is completed.
    REQUIRE(f.store->complete_outbox(*c).ok());
    auto d = f.store->enqueue(OutboxOp::regenerate, "sync/plan", "");
    REQUIRE(d.ok());
    CHECK(*d > *c);
}

TEMPLATE_TEST_CASE("outbox: enqueue refuses bad keys and payloads on non-puts", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    CHECK(f.store->enqueue(OutboxOp::put, "../escape", "x").error().code ==
          ErrorCode::invalid_argument);
    CHECK(f.store->enqueue(OutboxOp::remove, "main/x", "payload").error().code ==
          ErrorCode::invalid_argument);
    CHECK(f.store->pending_outbox(10).value().empty());
}

TEMPLATE_TEST_CASE("outbox: joining and leaving the edge, priority, destroy", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    auto nar = test::record_nar(*f.store, {"x"});
    REQUIRE(f.publish("main", f.narinfo("p", nar)).ok());
    REQUIRE(f.publish("main", f.narinfo("q", nar)).ok());
    const auto p = test::store_hash("p"), q = test::store_hash("q");
    CHECK(test::outbox_lines(*f.store).empty());

    CacheSettingsUpdate edge_only;
    edge_only.edge_enabled = true; // still private: stays in the lab
    REQUIRE(f.store->update_cache("main", edge_only).ok());
    CHECK(test::outbox_lines(*f.store).empty());

    CacheSettingsUpdate go_public;
    go_public.is_public = true;
    REQUIRE(f.store->update_cache("main", go_public).ok());
    CHECK(test::outbox_lines(*f.store) ==
          std::vector<std::string>{"regenerate " + bucket_key::narinfo("main", p),
                                   "regenerate " + bucket_key::listing("main", p),
                                   "regenerate " + bucket_key::narinfo("main", q),
                                   "regenerate " + bucket_key::listing("main", q),
                                   "regenerate main/nix-cache-info", "regenerate sync/plan"});
    test::drain_outbox(*f.store);

    CacheSettingsUpdate priority;
    priority.priority = 10;
    REQUIRE(f.store->update_cache("main", priority).ok());
    CHECK(test::outbox_lines(*f.store) ==
          std::vector<std::string>{"regenerate main/nix-cache-info"});
    test::drain_outbox(*f.store);

    CacheSettingsUpdate retention;
    retention.retention_seconds = 3600;
    REQUIRE(f.store->update_cache("main", retention).ok());
    CHECK(test::outbox_lines(*f.store).empty());

    CacheSettingsUpdate leave;
    leave.edge_enabled = false;
    REQUIRE(f.store->update_cache("main", leave).ok());
    const std::vector<std::string> removals{"delete " + bucket_key::narinfo("main", p),
                                            "delete " + bucket_key::listing("main", p),
                                            "delete " + bucket_key::narinfo("main", q),
                                            "delete " + bucket_key::listing("main", q),
                                            "delete main/nix-cache-info",
                                            "regenerate sync/plan"};
    CHECK(test::outbox_lines(*f.store) == removals);
    test::drain_outbox(*f.store);

    REQUIRE(f.store->destroy_cache("main", 0).ok()); // off the edge: nothing to remove
    CHECK(test::outbox_lines(*f.store).empty());

    f.create("main", test::edge_settings());
    REQUIRE(f.publish("main", f.narinfo("p", nar)).ok());
    REQUIRE(f.publish("main", f.narinfo("q", nar)).ok());
    test::drain_outbox(*f.store);
    REQUIRE(f.store->destroy_cache("main", 0).ok());
    CHECK(test::outbox_lines(*f.store) == removals);
}

// ---- concurrency ----

TEMPLATE_TEST_CASE("publish: concurrent publishers and readers", "[metadata]", test::SqliteBackend,
                   test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main", test::edge_settings());
    auto nar = test::record_nar(*f.store, {"shared nar"});
    constexpr int writers = 4, per_writer = 20;
    std::atomic<int> errors{0}, reads{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; i < per_writer; ++i) {
                // Every writer also re-pushes its neighbour's paths: no-ops, never conflicts.
                for (int who : {w, (w + 1) % writers}) {
                    auto label = "p" + std::to_string(who) + "-" + std::to_string(i);
                    if (!f.publish("main", f.narinfo(label, nar)))
                        ++errors;
                }
            }
        });
    threads.emplace_back([&] {
        while (!done) {
            auto text = f.store->narinfo("main", test::store_hash("p0-0"));
            if (!text)
                ++errors;
            ++reads;
        }
    });
    for (int w = 0; w < writers; ++w)
        threads[static_cast<std::size_t>(w)].join();
    done = true;
    threads.back().join();
    CHECK(errors == 0);
    CHECK(reads > 0);
    CHECK(f.count("paths") == std::to_string(writers * per_writer));
    // Each first publish enqueued exactly three entries; no-ops none.
    CHECK(f.count("outbox") == std::to_string(2 + 3 * writers * per_writer));
}

TEMPLATE_TEST_CASE("edge plan: exactly what the edge caches reach, in publish order", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("edge", test::edge_settings());
    f.create("lab"); // private: its paths and their chunks stay out of the plan
    auto shared_nar = test::record_nar(*f.store, {"shared", "tail-a"}, std::string("{}"));
    auto lab_only = test::record_nar(*f.store, {"lab-only"});
    auto second = test::record_nar(*f.store, {"shared", "tail-b"});
    REQUIRE(f.publish("lab", f.narinfo("l", lab_only)).ok());
    REQUIRE(f.publish("edge", f.narinfo("b", second)).ok());
    REQUIRE(f.publish("edge", f.narinfo("a", shared_nar)).ok());

    auto plan = f.store->edge_plan();
    REQUIRE(plan);
    std::vector<std::string> chunks;
    for (auto piece : {"shared", "tail-a", "tail-b"})
        chunks.push_back(bucket_key::chunk(test::digest_of(piece)));
    std::sort(chunks.begin(), chunks.end());
    std::vector<std::string> manifests{bucket_key::manifest(shared_nar.manifest_hash),
                                       bucket_key::manifest(second.manifest_hash)};
    std::sort(manifests.begin(), manifests.end());
    std::vector<std::string> immutable = chunks;
    immutable.insert(immutable.end(), manifests.begin(), manifests.end());
    CHECK(plan->immutable_keys == immutable);
    // b was published first; only a's NAR has a listing.
    CHECK(plan->mutable_keys ==
          std::vector<std::string>{bucket_key::layout_marker(), bucket_key::nix_cache_info("edge"),
                                   bucket_key::narinfo("edge", test::store_hash("b")),
                                   bucket_key::narinfo("edge", test::store_hash("a")),
                                   bucket_key::listing("edge", test::store_hash("a"))});

    // Leaving the edge empties the plan but for the marker.
    CacheSettingsUpdate off;
    off.edge_enabled = false;
    REQUIRE(f.store->update_cache("edge", off).ok());
    auto empty = f.store->edge_plan();
    REQUIRE(empty);
    CHECK(empty->immutable_keys.empty());
    CHECK(empty->mutable_keys == std::vector<std::string>{bucket_key::layout_marker()});
}

TEMPLATE_TEST_CASE("outbox: one drain at a time across replicas", "[metadata]", test::SqliteBackend,
                   test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto a = test::open_store(db, clock);
    auto b = test::open_store(db, clock);
    std::atomic<int> inside{0}, most{0}, runs{0}, errors{0};
    auto drain = [&](MetadataStore& store) {
        for (int i = 0; i < 3; ++i) {
            auto locked = store.with_outbox_lock([&]() -> Result<void> {
                int now = ++inside;
                for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);)
                    ;
                // The drain itself uses the store meanwhile.
                auto pending = store.pending_outbox(10);
                std::this_thread::sleep_for(std::chrono::milliseconds(30));
                --inside;
                ++runs;
                if (!pending)
                    return pending.error();
                return {};
            });
            if (!locked)
                ++errors;
        }
    };
    std::thread ta([&] { drain(*a); });
    std::thread tb([&] { drain(*b); });
    ta.join();
    tb.join();
    CHECK(errors == 0);
    CHECK(runs == 6);
    CHECK(most == 1);
    // fn's own error comes back as is.
    auto failed = a->with_outbox_lock(
        [] { return Result<void>(make_error(ErrorCode::storage_unavailable, "bucket down")); });
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == ErrorCode::storage_unavailable);
}

TEMPLATE_TEST_CASE("held paths: held until their references arrive, then released in order",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    Fixture<TestType> f;
    f.create("main");
    auto cache = f.store->get_cache("main").value().value();
    const auto hour = std::chrono::hours(1);
    auto base = test::record_nar(*f.store, {"base"});
    auto middle = test::record_nar(*f.store, {"middle"});
    auto top = test::record_nar(*f.store, {"top"});
    auto base_info = f.narinfo("base", base);
    auto middle_info = f.narinfo("middle", middle, {test::store_path("base")});
    auto top_info = f.narinfo("top", top, {test::store_path("middle"), test::store_path("base")});

    CHECK(publish_or_hold(*f.store, cache, top_info, hour).value() == Publication::held);
    CHECK(publish_or_hold(*f.store, cache, middle_info, hour).value() == Publication::held);
    auto held = f.store->held_paths("main");
    REQUIRE(held);
    REQUIRE(held->size() == 2);
    auto top_hold =
        std::ranges::find(*held, held_path_url(test::store_hash("top")), &HeldPath::url);
    REQUIRE(top_hold != held->end());
    CHECK(top_hold->narinfo == serialize_narinfo(top_info));
    // A held NAR is protected like a staged one.
    CHECK(f.store->get_nar(top.manifest_hash).value()->unused_since == std::nullopt);
    CHECK(release_held_paths(*f.store, cache).value() == 0);
    CHECK(f.store->narinfo("main", test::store_hash("top")).value() == std::nullopt);

    CHECK(publish_or_hold(*f.store, cache, base_info, hour).value() == Publication::published);
    CHECK(release_held_paths(*f.store, cache).value() == 2);
    CHECK(f.store->narinfo("main", test::store_hash("top")).value() ==
          std::optional<std::string>(serialize_narinfo(top_info)));
    CHECK(f.store->held_paths("main").value().empty());
    CHECK(f.count("staged_uploads") == "0");
    // Again: the path is there, nothing is held.
    CHECK(publish_or_hold(*f.store, cache, top_info, hour).value() == Publication::unchanged);

    // A hold expires like a staged upload, and its NAR becomes unused.
    auto lone = test::record_nar(*f.store, {"lone"});
    auto lone_info = f.narinfo("lone", lone, {test::store_path("never")});
    CHECK(publish_or_hold(*f.store, cache, lone_info, hour).value() == Publication::held);
    f.clock.advance(3601);
    CHECK(f.store->held_paths("main").value().empty());
    CHECK(f.store->expire_staged(f.clock.now->load()).value() == 1);
    CHECK(f.store->get_nar(lone.manifest_hash).value()->unused_since.has_value());

    // A cache that takes upstream references publishes at once.
    CacheSettings open;
    open.allow_upstream_references = true;
    f.create("open", open);
    auto open_cache = f.store->get_cache("open").value().value();
    CHECK(publish_or_hold(*f.store, open_cache, lone_info, hour).value() == Publication::published);
}
