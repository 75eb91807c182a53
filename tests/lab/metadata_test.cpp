// MetadataStore on SQLite and PostgreSQL (TEMPLATE_TEST_CASEs over the
// backends of metadata_backends.hpp; SQLite-only ones use its file): opening
// and migrations, caches and keys, chunk claims,
// NARs and staged uploads. Publishing, reads and the outbox are in
// metadata_publish_test.cpp.
#include "metadata/sqlite_migrations.hpp"
#include "metadata_support.hpp"

#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <thread>

using namespace nixedge;
using namespace nixedge::lab;
using nixedge::test::TempDir;
using nixedge::test::TestClock;

namespace {

std::unique_ptr<SqliteConnection> raw_connection(const std::filesystem::path& path) {
    auto connection = SqliteConnection::open(path, std::chrono::milliseconds(1000));
    REQUIRE(connection.ok());
    return std::move(connection).value();
}

std::string single_text(SqliteConnection& c, const char* sql) {
    auto q = c.query(sql);
    auto row = q.step();
    REQUIRE(row.ok());
    REQUIRE(*row);
    return q.text(0);
}

} // namespace

// ---- opening, migrations, persistence ----

TEST_CASE("metadata: the migration list is numbered 1..N without gaps", "[metadata]") {
    auto migrations = sqlite_migrations();
    REQUIRE_FALSE(migrations.empty());
    for (std::size_t i = 0; i < migrations.size(); ++i) {
        CHECK(migrations[i].version == static_cast<int>(i) + 1);
        CHECK_FALSE(migrations[i].description.empty());
    }
    CHECK(latest_schema_version() == static_cast<int>(migrations.size()));
}

TEST_CASE("metadata: a new database is at the latest version, in WAL mode", "[metadata]") {
    TempDir dir;
    TestClock clock;
    auto store = test::open_store(dir / "meta.db", clock);
    CHECK(store->schema_version().value() == latest_schema_version());
    auto c = raw_connection(dir / "meta.db");
    CHECK(single_text(*c, "PRAGMA journal_mode") == "wal");
    CHECK(single_text(*c, "SELECT count(*) FROM schema_migrations") ==
          std::to_string(latest_schema_version()));
    // Per-connection settings every pooled connection gets.
    CHECK(single_text(*c, "PRAGMA foreign_keys") == "1");
    CHECK(single_text(*c, "PRAGMA synchronous") == "2"); // FULL
}

TEST_CASE("metadata: an old database is migrated at open, keeping its rows", "[metadata]") {
    TempDir dir;
    TestClock clock;
    const auto key = test::make_key("old-1");
    {
        SqliteMetadataOptions v1;
        v1.schema_version = 1; // caches and keys only
        auto store = test::open_store(dir / "meta.db", clock, v1);
        REQUIRE(store->schema_version().value() == 1);
        REQUIRE(store->create_cache("old", {}, key).ok());
        auto c = raw_connection(dir / "meta.db");
        CHECK(single_text(*c, "SELECT count(*) FROM sqlite_master WHERE name = 'paths'") == "0");
    }
    clock.advance(60);
    auto store = test::open_store(dir / "meta.db", clock);
    CHECK(store->schema_version().value() == latest_schema_version());
    auto cache = store->get_cache("old");
    REQUIRE(cache.ok());
    REQUIRE(cache->has_value());
    CHECK((*cache)->keys.at(0).secret_key == key.to_string());
    // The new tables work on the migrated database.
    auto nar = test::record_nar(*store, {"migrated"});
    auto info = test::make_narinfo(test::store_path("p"), nar, key);
    CHECK(store->publish_path("old", info, std::nullopt).value() == PublishOutcome::published);

    auto c = raw_connection(dir / "meta.db");
    CHECK(single_text(*c, "SELECT group_concat(applied_at) FROM schema_migrations "
                          "WHERE version = 1") == "1700000000");
    CHECK(single_text(*c, "SELECT min(applied_at) FROM schema_migrations WHERE version > 1") ==
          "1700000060");
}

TEST_CASE("metadata: reopening a current database changes nothing", "[metadata]") {
    TempDir dir;
    TestClock clock;
    test::open_store(dir / "meta.db", clock);
    test::open_store(dir / "meta.db", clock);
    auto c = raw_connection(dir / "meta.db");
    CHECK(single_text(*c, "SELECT count(*) FROM schema_migrations") ==
          std::to_string(latest_schema_version()));
}

TEST_CASE("metadata: a database newer than this build is refused", "[metadata]") {
    TempDir dir;
    TestClock clock;
    test::open_store(dir / "meta.db", clock);
    {
        auto c = raw_connection(dir / "meta.db");
        REQUIRE(c->run("INSERT INTO schema_migrations VALUES (?, 'from the future', 0)",
                       latest_schema_version() + 1)
                    .ok());
    }
    auto store = SqliteMetadataStore::open(dir / "meta.db");
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().code == ErrorCode::database_unavailable);
    CHECK_THAT(store.error().detail, Catch::Contains("newer than this build"));
}

TEST_CASE("metadata: a file that is not a database is database_unavailable", "[metadata]") {
    TempDir dir;
    {
        std::ofstream out(dir / "meta.db");
        out << std::string(4096, 'x');
    }
    auto store = SqliteMetadataStore::open(dir / "meta.db");
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().code == ErrorCode::database_unavailable);
}

TEMPLATE_TEST_CASE("metadata: everything persists across reopen", "[metadata]", test::SqliteBackend,
                   test::PostgresBackend) {
    TestType db;
    TestClock clock;
    const auto key = test::make_key("main-1");
    test::RecordedNar nar;
    {
        auto store = test::open_store(db, clock);
        REQUIRE(store->create_cache("main", test::edge_settings(), key).ok());
        nar = test::record_nar(*store, {"alpha", "beta"}, std::string("{\"version\":1}"));
        auto info = test::make_narinfo(test::store_path("hello"), nar, key);
        REQUIRE(store->publish_path("main", info, std::nullopt).ok());
        REQUIRE(
            store->stage_upload("main", "nar/x.nar.zst", nar.manifest_hash, std::chrono::hours(1))
                .ok());
    }
    auto store = test::open_store(db, clock);
    auto hash = test::store_hash("hello");
    CHECK(store->narinfo("main", hash).value().has_value());
    CHECK(store->listing("main", hash).value() == std::optional<std::string>("{\"version\":1}"));
    CHECK(store->manifest(nar.manifest_hash).value() == nar.manifest);
    CHECK(store->find_staged("main", "nar/x.nar.zst").value().has_value());
    CHECK(store->pending_outbox(100).value().size() == 5);
}

TEMPLATE_TEST_CASE("metadata: ping answers while the database does", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    CHECK(store->ping().ok());
    // A database that no longer answers the store's queries (its schema gone).
    REQUIRE(db.execute("ALTER TABLE schema_migrations RENAME TO schema_migrations_away").ok());
    CHECK_FALSE(store->ping().ok());
    REQUIRE(db.execute("ALTER TABLE schema_migrations_away RENAME TO schema_migrations").ok());
    CHECK(store->ping().ok());
}

// ---- caches and keys ----

TEMPLATE_TEST_CASE("metadata: create and get a cache", "[metadata]", test::SqliteBackend,
                   test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    const auto key = test::make_key("main-1");
    CacheSettings settings;
    settings.is_public = true;
    settings.retention_seconds = 86400;
    settings.allow_upstream_references = true;
    settings.upstream_key_names = {"cache.nixos.org-1", "other-2"};

    auto created = store->create_cache("main", settings, key);
    REQUIRE(created.ok());
    CHECK(created->name == "main");
    CHECK(created->settings == settings);
    CHECK(created->created_at == 1'700'000'000);
    REQUIRE(created->keys.size() == 1);
    CHECK(created->keys[0].name == "main-1");
    CHECK(created->keys[0].secret_key == key.to_string());
    CHECK(created->keys[0].public_key == key.public_key().to_string());
    CHECK(created->keys[0].state == KeyState::active);

    auto got = store->get_cache("main");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->id == created->id);
    CHECK((*got)->settings == settings);
    CHECK(store->get_cache("other").value() == std::nullopt);
}

TEMPLATE_TEST_CASE("metadata: cache defaults: private, not on the edge, priority 41, kept forever",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    auto cache = store->create_cache("main", {}, test::make_key("k"));
    REQUIRE(cache.ok());
    CHECK_FALSE(cache->settings.is_public);
    CHECK_FALSE(cache->settings.edge_enabled);
    CHECK(cache->settings.priority == 41);
    CHECK(cache->settings.retention_seconds == 0);
    CHECK(cache->settings.upstream_key_names.empty());
}

TEMPLATE_TEST_CASE("metadata: cache creation refuses bad names, duplicates and bad settings",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    const auto key = test::make_key("k");
    REQUIRE(store->create_cache("main", {}, key).ok());
    CHECK(store->create_cache("main", {}, key).error().code == ErrorCode::conflict);
    CHECK(store->create_cache("nar", {}, key).error().code == ErrorCode::invalid_cache_name);
    CHECK(store->create_cache("a.b", {}, key).error().code == ErrorCode::invalid_cache_name);
    CacheSettings negative;
    negative.retention_seconds = -1;
    CHECK(store->create_cache("x", negative, key).error().code == ErrorCode::invalid_argument);
    CacheSettings bad_upstream;
    bad_upstream.upstream_key_names = {"has space"};
    CHECK(store->create_cache("y", bad_upstream, key).error().code == ErrorCode::invalid_key);
    auto broken = key;
    broken.bytes[40] ^= 1; // public half no longer matches the seed
    CHECK(store->create_cache("z", {}, broken).error().code == ErrorCode::invalid_key);
    CHECK(store->list_caches().value().size() == 1);
}

TEMPLATE_TEST_CASE("metadata: list caches by name", "[metadata]", test::SqliteBackend,
                   test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    for (auto name : {"zeta", "alpha", "mid"})
        REQUIRE(store->create_cache(name, {}, test::make_key(name)).ok());
    auto caches = store->list_caches();
    REQUIRE(caches.ok());
    REQUIRE(caches->size() == 3);
    CHECK((*caches)[0].name == "alpha");
    CHECK((*caches)[1].name == "mid");
    CHECK((*caches)[2].name == "zeta");
    CHECK((*caches)[2].keys.at(0).name == "zeta");
}

TEMPLATE_TEST_CASE("metadata: update changes only the fields given", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    REQUIRE(store->create_cache("main", {}, test::make_key("k")).ok());
    CacheSettingsUpdate update;
    update.priority = 30;
    update.upstream_key_names = std::vector<std::string>{"cache.nixos.org-1"};
    auto updated = store->update_cache("main", update);
    REQUIRE(updated.ok());
    CHECK(updated->settings.priority == 30);
    CHECK(updated->settings.upstream_key_names == std::vector<std::string>{"cache.nixos.org-1"});
    CHECK_FALSE(updated->settings.is_public);
    CHECK(store->get_cache("main").value()->settings == updated->settings);

    CacheSettingsUpdate bad;
    bad.priority = -5;
    CHECK(store->update_cache("main", bad).error().code == ErrorCode::invalid_argument);
    CHECK(store->get_cache("main").value()->settings.priority == 30);
    CHECK(store->update_cache("none", update).error().code == ErrorCode::not_found);
}

TEMPLATE_TEST_CASE("metadata: destroy removes the cache with its paths and staged uploads",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    const auto key = test::make_key("k");
    REQUIRE(store->create_cache("main", {}, key).ok());
    auto nar = test::record_nar(*store, {"data"});
    REQUIRE(store
                ->publish_path("main", test::make_narinfo(test::store_path("p"), nar, key),
                               std::nullopt)
                .ok());
    REQUIRE(
        store->stage_upload("main", "nar/a.nar", nar.manifest_hash, std::chrono::hours(1)).ok());

    REQUIRE(store->destroy_cache("main", 0).ok());
    CHECK(store->get_cache("main").value() == std::nullopt);
    CHECK(store->destroy_cache("main", 0).error().code == ErrorCode::not_found);
    CHECK(db.scalar("SELECT count(*) FROM paths") == "0");
    CHECK(db.scalar("SELECT count(*) FROM path_references") == "0");
    CHECK(db.scalar("SELECT count(*) FROM staged_uploads") == "0");
    CHECK(db.scalar("SELECT count(*) FROM cache_keys") == "0");
    // Content stays for GC to judge.
    CHECK(store->get_nar(nar.manifest_hash).value().has_value());

    // A new cache under the old name starts empty.
    REQUIRE(store->create_cache("main", {}, key).ok());
    CHECK(store->narinfo("main", test::store_hash("p")).value() == std::nullopt);
}

TEMPLATE_TEST_CASE("metadata: key rotation keeps an active key at all times", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    REQUIRE(store->create_cache("main", {}, test::make_key("main-1", 1)).ok());

    clock.advance(10);
    REQUIRE(store->add_cache_key("main", test::make_key("main-2", 2), KeyState::active).ok());
    REQUIRE(store->set_cache_key_state("main", "main-1", KeyState::retiring).ok());
    auto keys = store->get_cache("main").value()->keys;
    REQUIRE(keys.size() == 2);
    CHECK(keys[0].name == "main-1");
    CHECK(keys[0].state == KeyState::retiring);
    CHECK(keys[1].name == "main-2");
    CHECK(keys[1].state == KeyState::active);
    CHECK(keys[1].created_at == 1'700'000'010);

    CHECK(
        store->add_cache_key("main", test::make_key("main-2", 3), KeyState::active).error().code ==
        ErrorCode::conflict);
    CHECK(store->remove_cache_key("main", "main-2").error().code == ErrorCode::conflict);
    CHECK(store->set_cache_key_state("main", "main-2", KeyState::retiring).error().code ==
          ErrorCode::conflict);
    CHECK(store->get_cache("main").value()->keys[1].state == KeyState::active);
    REQUIRE(store->remove_cache_key("main", "main-1").ok());
    CHECK(store->get_cache("main").value()->keys.size() == 1);
    CHECK(store->remove_cache_key("main", "main-1").error().code == ErrorCode::not_found);
    CHECK(store->set_cache_key_state("main", "nope", KeyState::active).error().code ==
          ErrorCode::not_found);
    CHECK(store->add_cache_key("nope", test::make_key("x"), KeyState::active).error().code ==
          ErrorCode::not_found);
}

// ---- chunk claims ----

TEMPLATE_TEST_CASE("metadata: the first claim wins, others wait, then reuse", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    const auto hash = test::digest_of("chunk");

    auto first = store->claim_chunk(hash, 1000, 400);
    REQUIRE(first.ok());
    CHECK(first->outcome == ChunkClaimOutcome::claimed_by_me);
    auto second = store->claim_chunk(hash, 1000, 420);
    REQUIRE(second.ok());
    CHECK(second->outcome == ChunkClaimOutcome::claimed_by_other);

    auto record = store->get_chunk(hash).value();
    REQUIRE(record);
    CHECK(record->state == ChunkState::claimed);
    CHECK(record->claimed_at == 1'700'000'000);
    CHECK_FALSE(record->stored_at);

    clock.advance(5);
    REQUIRE(store->mark_chunk_stored(hash, first->claim_id).ok());
    REQUIRE(store->mark_chunk_stored(hash, first->claim_id).ok()); // idempotent
    auto reuse = store->claim_chunk(hash, 1000, 420);
    REQUIRE(reuse.ok());
    CHECK(reuse->outcome == ChunkClaimOutcome::already_stored);
    CHECK(reuse->stored_size == 400); // the first writer's frame, not ours
    record = store->get_chunk(hash).value();
    CHECK(record->state == ChunkState::stored);
    CHECK(record->stored_at == 1'700'000'005);
    CHECK(store->get_chunk(test::digest_of("other")).value() == std::nullopt);
}

TEMPLATE_TEST_CASE("metadata: a chunk hash known with another raw size is refused", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    const auto hash = test::digest_of("chunk");
    REQUIRE(store->claim_chunk(hash, 1000, 400).ok());
    CHECK(store->claim_chunk(hash, 999, 400).error().code == ErrorCode::invalid_argument);
    CHECK(store->claim_chunk(test::digest_of("z"), 0, 1).error().code ==
          ErrorCode::invalid_argument);
    CHECK(store->claim_chunk(test::digest_of("z"), 1, (1ull << 30) + 1).error().code ==
          ErrorCode::invalid_argument);
}

TEMPLATE_TEST_CASE("metadata: a dead claim is taken over after the claim timeout", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    test::StoreOptions options;
    options.claims.timeout = std::chrono::seconds(600);
    auto store = test::open_store(db, clock, options);
    const auto hash = test::digest_of("chunk");
    auto crashed = store->claim_chunk(hash, 1000, 400).value();

    clock.advance(599);
    CHECK(store->claim_chunk(hash, 1000, 410).value().outcome ==
          ChunkClaimOutcome::claimed_by_other);
    clock.advance(1);
    auto takeover = store->claim_chunk(hash, 1000, 410).value();
    CHECK(takeover.outcome == ChunkClaimOutcome::claimed_by_me);
    CHECK(takeover.claim_id != crashed.claim_id);
    CHECK(takeover.stored_size == 410);

    // The old writer was only slow: it learns it lost and changes nothing.
    CHECK(store->mark_chunk_stored(hash, crashed.claim_id).error().code == ErrorCode::conflict);
    CHECK(store->get_chunk(hash).value()->state == ChunkState::claimed);
    REQUIRE(store->mark_chunk_stored(hash, takeover.claim_id).ok());
    auto record = store->get_chunk(hash).value();
    CHECK(record->stored_size == 410);
    CHECK(store->mark_chunk_stored(hash, crashed.claim_id).error().code == ErrorCode::conflict);
    CHECK(store->mark_chunk_stored(test::digest_of("none"), 1).error().code ==
          ErrorCode::not_found);
}

TEMPLATE_TEST_CASE("metadata: the claims of a writer that fell silent are taken over at once",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    test::StoreOptions beating; // renews its writer row every 10 ms
    beating.claims.heartbeat = std::chrono::milliseconds(10);
    test::StoreOptions frozen; // as if killed: never renews it
    frozen.claims.heartbeat = std::chrono::hours(1);
    auto live = test::open_store(db, clock, beating);
    auto killed = test::open_store(db, clock, frozen);
    auto other = test::open_store(db, clock, frozen);
    const auto live_hash = test::digest_of("live"), killed_hash = test::digest_of("killed");
    REQUIRE(live->claim_chunk(live_hash, 1000, 400).value().outcome ==
            ChunkClaimOutcome::claimed_by_me);
    auto killed_claim = killed->claim_chunk(killed_hash, 1000, 400).value();
    CHECK(other->claim_chunk(killed_hash, 1000, 400).value().outcome ==
          ChunkClaimOutcome::claimed_by_other);

    // Past the silence, the killed writer's claim is dead (long before the
    // claim timeout); the live writer's stands, and so does the killed
    // writer's claim for itself (a process knows it lives).
    clock.advance(ClaimRules{}.writer_silence.count() + 1);
    const auto beat_seen = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (db.scalar("SELECT count(*) FROM writers WHERE heartbeat_at = " +
                     std::to_string(clock.now->load())) == "0" &&
           std::chrono::steady_clock::now() < beat_seen)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(other->claim_chunk(live_hash, 1000, 400).value().outcome ==
          ChunkClaimOutcome::claimed_by_other);
    CHECK(killed->claim_chunk(killed_hash, 1000, 400).value().outcome ==
          ChunkClaimOutcome::claimed_by_other);
    auto takeover = other->claim_chunk(killed_hash, 1000, 410).value();
    CHECK(takeover.outcome == ChunkClaimOutcome::claimed_by_me);
    CHECK(takeover.claim_id != killed_claim.claim_id);
    CHECK(killed->mark_chunk_stored(killed_hash, killed_claim.claim_id).error().code ==
          ErrorCode::conflict);
    REQUIRE(other->mark_chunk_stored(killed_hash, takeover.claim_id).ok());

    // A writer that stops cleanly leaves its row: its claims are dead at once.
    auto stopped_hash = test::digest_of("stopped");
    REQUIRE(live->claim_chunk(stopped_hash, 1000, 400).value().outcome ==
            ChunkClaimOutcome::claimed_by_me);
    live.reset();
    CHECK(other->claim_chunk(stopped_hash, 1000, 400).value().outcome ==
          ChunkClaimOutcome::claimed_by_me);
    CHECK(db.scalar("SELECT count(*) FROM writers") == "2");
}

TEMPLATE_TEST_CASE("metadata: a released claim is taken over at once, a stored chunk stays",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    const auto hash = test::digest_of("chunk");
    auto failed = store->claim_chunk(hash, 1000, 400).value();
    REQUIRE(store->release_chunk_claim(hash, failed.claim_id).ok());
    auto retry = store->claim_chunk(hash, 1000, 410).value();
    CHECK(retry.outcome == ChunkClaimOutcome::claimed_by_me);
    CHECK(retry.claim_id != failed.claim_id);
    // A stale release (the claim was taken over) changes nothing.
    REQUIRE(store->release_chunk_claim(hash, failed.claim_id).ok());
    CHECK(store->claim_chunk(hash, 1000, 420).value().outcome ==
          ChunkClaimOutcome::claimed_by_other);
    REQUIRE(store->mark_chunk_stored(hash, retry.claim_id).ok());
    REQUIRE(store->release_chunk_claim(hash, retry.claim_id).ok());
    auto record = store->get_chunk(hash).value();
    CHECK(record->state == ChunkState::stored);
    CHECK(record->stored_size == 410);
    CHECK(store->release_chunk_claim(test::digest_of("none"), 1).ok());
}

TEMPLATE_TEST_CASE("metadata: claims in a batch answer in order, repeats included", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    auto a = test::digest_of("a"), b = test::digest_of("b");
    REQUIRE(store->claim_chunk(b, 10, 5).ok());
    std::vector<ChunkClaimRequest> batch{{a, 10, 5}, {b, 10, 6}, {a, 10, 5}};
    auto claims = store->claim_chunks(batch);
    REQUIRE(claims.ok());
    REQUIRE(claims->size() == 3);
    CHECK((*claims)[0].outcome == ChunkClaimOutcome::claimed_by_me);
    CHECK((*claims)[1].outcome == ChunkClaimOutcome::claimed_by_other);
    CHECK((*claims)[2].outcome == ChunkClaimOutcome::claimed_by_me);
    CHECK((*claims)[2].claim_id == (*claims)[0].claim_id);
}

TEMPLATE_TEST_CASE("metadata: a failed batch marks nothing stored", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    auto a = test::digest_of("a");
    auto claim = store->claim_chunk(a, 10, 5).value();
    std::vector<ChunkStoredRequest> batch{{a, claim.claim_id}, {test::digest_of("none"), 1}};
    CHECK(store->mark_chunks_stored(batch).error().code == ErrorCode::not_found);
    CHECK(store->get_chunk(a).value()->state == ChunkState::claimed);
}

TEMPLATE_TEST_CASE("metadata: concurrent claims of the same chunks: exactly one winner each",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    // Two stores on one file stand for two replicas (separate pools and
    // write mutexes: only SQLite's own locking keeps them apart).
    auto replica_a = test::open_store(db, clock);
    auto replica_b = test::open_store(db, clock);
    constexpr int threads = 8, chunks = 40;
    std::vector<Sha256Digest> hashes;
    for (int i = 0; i < chunks; ++i)
        hashes.push_back(test::digest_of("chunk " + std::to_string(i)));

    std::vector<std::vector<ChunkClaimOutcome>> outcomes(threads);
    std::atomic<int> errors{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            auto& store = t % 2 ? *replica_a : *replica_b;
            std::vector<int> order(chunks);
            std::iota(order.begin(), order.end(), 0);
            std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(t)));
            outcomes[t].resize(chunks);
            for (int i : order) {
                auto claim = store.claim_chunk(hashes[i], 100, 50);
                if (!claim) {
                    ++errors;
                    continue;
                }
                outcomes[t][i] = claim->outcome;
            }
        });
    }
    for (auto& worker : workers)
        worker.join();
    REQUIRE(errors == 0);
    for (int i = 0; i < chunks; ++i) {
        int winners = 0;
        for (int t = 0; t < threads; ++t)
            winners += outcomes[t][i] == ChunkClaimOutcome::claimed_by_me;
        CHECK(winners == 1);
    }
}

// ---- NARs ----

TEMPLATE_TEST_CASE("metadata: record a NAR and read its manifest back", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    // A chunk may appear more than once in a NAR.
    auto nar = test::record_nar(*store, {"first piece", "second", "first piece"});
    auto encoded = encode_manifest(nar.manifest);
    REQUIRE(encoded.ok());
    CHECK(encoding::to_hex(nar.manifest_hash) == manifest_name(*encoded));

    auto record = store->get_nar(nar.manifest_hash).value();
    REQUIRE(record);
    CHECK(record->nar_hash == nar.manifest.nar_hash);
    CHECK(record->nar_size == nar.manifest.nar_size);
    CHECK(record->file_size == nar.manifest.stored_size());
    CHECK(record->chunk_count == 3);
    CHECK(record->created_at == 1'700'000'000);
    CHECK(store->manifest(nar.manifest_hash).value() == nar.manifest);
    CHECK(store->manifest(test::digest_of("none")).value() == std::nullopt);
    CHECK(store->get_nar(test::digest_of("none")).value() == std::nullopt);

    // Recording it again is a no-op.
    auto again = store->record_nar(nar.manifest, std::nullopt);
    REQUIRE(again.ok());
    CHECK(*again == nar.manifest_hash);
}

TEMPLATE_TEST_CASE("metadata: an empty NAR has no chunks", "[metadata]", test::SqliteBackend,
                   test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    ChunkManifest empty;
    empty.nar_hash = test::digest_of("");
    auto hash = store->record_nar(empty, std::nullopt);
    REQUIRE(hash.ok());
    CHECK(store->manifest(*hash).value() == empty);
}

TEMPLATE_TEST_CASE("metadata: a NAR is recorded only over stored chunks of the right sizes",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    auto manifest = test::store_chunks(*store, {"stored"});

    auto unknown = manifest;
    unknown.chunks.push_back(ChunkRef{test::digest_of("missing"), 7, 4});
    unknown.nar_size += 7;
    CHECK(store->record_nar(unknown, std::nullopt).error().code == ErrorCode::invalid_argument);

    auto claimed_only = test::digest_of("claimed");
    REQUIRE(store->claim_chunk(claimed_only, 7, 4).ok());
    auto pending = manifest;
    pending.chunks.push_back(ChunkRef{claimed_only, 7, 4});
    pending.nar_size += 7;
    CHECK(store->record_nar(pending, std::nullopt).error().code == ErrorCode::invalid_argument);

    auto resized = manifest;
    resized.chunks[0].stored_size += 1;
    CHECK(store->record_nar(resized, std::nullopt).error().code == ErrorCode::invalid_argument);

    auto inconsistent = manifest;
    inconsistent.nar_size += 1; // raw sizes no longer add up
    CHECK(store->record_nar(inconsistent, std::nullopt).error().code ==
          ErrorCode::invalid_manifest);
    CHECK(db.scalar("SELECT count(*) FROM nars") == "0");
    CHECK(db.scalar("SELECT count(*) FROM nar_chunks") == "0");
}

TEMPLATE_TEST_CASE("metadata: a listing can be added to a NAR recorded without one", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    auto nar = test::record_nar(*store, {"x"});
    REQUIRE(store->record_nar(nar.manifest, std::string_view("{\"version\":1}")).ok());
    REQUIRE(store->record_nar(nar.manifest, std::string_view("ignored: the first stays")).ok());
    CHECK(db.scalar("SELECT listing FROM nar_listings") == "{\"version\":1}");
}

// ---- staged uploads ----

TEMPLATE_TEST_CASE("metadata: stage an upload and find it from any replica", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    auto other_replica = test::open_store(db, clock);
    REQUIRE(store->create_cache("main", {}, test::make_key("k")).ok());
    auto nar = test::record_nar(*store, {"nar bytes"});

    auto staged =
        store->stage_upload("main", "nar/abc.nar.zst", nar.manifest_hash, std::chrono::hours(2));
    REQUIRE(staged.ok());
    CHECK(staged->cache == "main");
    CHECK(staged->url == "nar/abc.nar.zst");
    CHECK(staged->manifest_hash == nar.manifest_hash);
    CHECK(staged->nar_hash == nar.manifest.nar_hash);
    CHECK(staged->nar_size == nar.manifest.nar_size);
    CHECK(staged->created_at == 1'700'000'000);
    CHECK(staged->expires_at == 1'700'000'000 + 7200);

    auto found = other_replica->find_staged("main", "nar/abc.nar.zst");
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK((*found)->manifest_hash == nar.manifest_hash);
    CHECK(store->find_staged("main", "nar/other.nar.zst").value() == std::nullopt);
    CHECK(store->find_staged("nope", "nar/abc.nar.zst").value() == std::nullopt);
}

TEMPLATE_TEST_CASE("metadata: staging needs a cache and a recorded NAR, restaging replaces",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    REQUIRE(store->create_cache("main", {}, test::make_key("k")).ok());
    auto first = test::record_nar(*store, {"one"});
    auto second = test::record_nar(*store, {"two"});
    const auto hour = std::chrono::hours(1);
    CHECK(store->stage_upload("nope", "nar/a", first.manifest_hash, hour).error().code ==
          ErrorCode::not_found);
    CHECK(store->stage_upload("main", "nar/a", test::digest_of("x"), hour).error().code ==
          ErrorCode::not_found);
    CHECK(store->stage_upload("main", "", first.manifest_hash, hour).error().code ==
          ErrorCode::invalid_argument);

    REQUIRE(store->stage_upload("main", "nar/a", first.manifest_hash, hour).ok());
    clock.advance(100);
    REQUIRE(store->stage_upload("main", "nar/a", second.manifest_hash, hour).ok());
    auto found = store->find_staged("main", "nar/a").value();
    REQUIRE(found);
    CHECK(found->manifest_hash == second.manifest_hash);
    CHECK(found->created_at == 1'700'000'100);
}

TEMPLATE_TEST_CASE("metadata: staged uploads expire", "[metadata]", test::SqliteBackend,
                   test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    REQUIRE(store->create_cache("main", {}, test::make_key("k")).ok());
    auto nar = test::record_nar(*store, {"bytes"});
    REQUIRE(
        store->stage_upload("main", "nar/short", nar.manifest_hash, std::chrono::seconds(60)).ok());
    REQUIRE(
        store->stage_upload("main", "nar/long", nar.manifest_hash, std::chrono::seconds(600)).ok());

    clock.advance(60);
    // Expired rows are invisible before anyone removes them...
    CHECK(store->find_staged("main", "nar/short").value() == std::nullopt);
    CHECK(store->find_staged("main", "nar/long").value().has_value());
    // ...and expire_staged removes exactly those.
    CHECK(store->expire_staged(clock.now->load()).value() == 1);
    CHECK(store->expire_staged(clock.now->load()).value() == 0);
    CHECK(store->expire_staged(clock.now->load() + 540).value() == 1);
    CHECK(db.scalar("SELECT count(*) FROM staged_uploads") == "0");
}

TEMPLATE_TEST_CASE("metadata: the database itself protects staged and published NARs", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    const auto key = test::make_key("k");
    REQUIRE(store->create_cache("main", {}, key).ok());
    auto staged = test::record_nar(*store, {"staged"});
    auto published = test::record_nar(*store, {"published"});
    REQUIRE(store->stage_upload("main", "nar/s", staged.manifest_hash, std::chrono::hours(1)).ok());
    REQUIRE(store
                ->publish_path("main", test::make_narinfo(test::store_path("p"), published, key),
                               std::nullopt)
                .ok());
    // What a buggy GC would try: the foreign keys refuse.
    for (const auto& nar : {staged, published}) {
        auto removed = db.execute("DELETE FROM nars WHERE manifest_hash = '" +
                                  encoding::to_hex(nar.manifest_hash) + "'");
        CHECK(removed.error().code == ErrorCode::conflict);
    }
    auto chunk = db.execute("DELETE FROM chunks WHERE hash = '" +
                            encoding::to_hex(test::digest_of("staged")) + "'");
    CHECK(chunk.error().code == ErrorCode::conflict);
}

TEMPLATE_TEST_CASE("metadata: chunks and NARs are listed in pages, in hash order", "[metadata]",
                   test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    std::vector<Sha256Digest> nars;
    for (const auto* piece : {"a", "b", "c", "d", "e"})
        nars.push_back(test::record_nar(*store, {piece, std::string(piece) + "!"}).manifest_hash);
    REQUIRE(store->claim_chunk(test::digest_of("claimed only"), 12, 7).ok());
    std::sort(nars.begin(), nars.end());

    std::vector<ChunkRecord> chunks;
    std::optional<Sha256Digest> after;
    for (;;) {
        auto page = store->list_chunks(after, 3);
        REQUIRE(page.ok());
        chunks.insert(chunks.end(), page->begin(), page->end());
        if (page->size() < 3)
            break;
        after = page->back().hash;
    }
    REQUIRE(chunks.size() == 11);
    CHECK(std::is_sorted(chunks.begin(), chunks.end(),
                         [](const auto& x, const auto& y) { return x.hash < y.hash; }));
    auto claimed = std::find_if(chunks.begin(), chunks.end(), [](const ChunkRecord& c) {
        return c.hash == test::digest_of("claimed only");
    });
    REQUIRE(claimed != chunks.end());
    CHECK(claimed->state == ChunkState::claimed);
    CHECK(claimed->stored_size == 7);
    CHECK(*store->get_chunk(chunks.front().hash).value() == chunks.front());

    auto first = store->list_nars(std::nullopt, 2).value();
    auto rest = store->list_nars(first.back().manifest_hash, 10).value();
    REQUIRE(first.size() == 2);
    REQUIRE(rest.size() == 3);
    CHECK(first[0].manifest_hash == nars[0]);
    CHECK(rest[2].manifest_hash == nars[4]);
    CHECK(*store->get_nar(rest[0].manifest_hash).value() == rest[0]);
    CHECK(store->list_nars(nars[4], 10).value().empty());
}

TEMPLATE_TEST_CASE("metadata: the uses of a chunk name its NARs and the paths publishing them",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    const auto key = test::make_key("k");
    REQUIRE(store->create_cache("main", {}, key).ok());
    REQUIRE(store->create_cache("team", {}, key).ok());
    auto published = test::record_nar(*store, {"shared", "one"});
    auto unpublished = test::record_nar(*store, {"shared", "two"});
    auto info = test::make_narinfo(test::store_path("p"), published, key);
    REQUIRE(store->publish_path("main", info, std::nullopt).ok());
    REQUIRE(store->publish_path("team", info, std::nullopt).ok());

    auto uses = store->chunk_uses(test::digest_of("shared"), 10).value();
    REQUIRE(uses.size() == 3);
    std::vector<std::string> seen;
    for (const auto& use : uses)
        seen.push_back(encoding::to_hex(use.manifest_hash).substr(0, 8) + " " + use.cache + " " +
                       use.store_path);
    std::vector<std::string> expected{
        encoding::to_hex(published.manifest_hash).substr(0, 8) + " main " +
            test::store_path("p").full(),
        encoding::to_hex(published.manifest_hash).substr(0, 8) + " team " +
            test::store_path("p").full(),
        encoding::to_hex(unpublished.manifest_hash).substr(0, 8) + "  ",
    };
    std::sort(expected.begin(), expected.end());
    std::sort(seen.begin(), seen.end());
    CHECK(seen == expected);
    CHECK(store->chunk_uses(test::digest_of("shared"), 1).value().size() == 1);
    CHECK(store->chunk_uses(test::digest_of("unknown"), 10).value().empty());
}

TEMPLATE_TEST_CASE("metadata: a chunk reset for re-upload is taken over at its recorded size",
                   "[metadata]", test::SqliteBackend, test::PostgresBackend) {
    TestType db;
    TestClock clock;
    auto store = test::open_store(db, clock);
    auto nar = test::record_nar(*store, {"lost chunk", "kept chunk"});
    const auto lost = nar.manifest.chunks[0];

    REQUIRE(store->reset_chunk_for_upload(lost.hash).value());
    auto reset = store->get_chunk(lost.hash).value();
    CHECK(reset->state == ChunkState::claimed);
    CHECK(reset->stored_at == std::nullopt);
    CHECK(reset->stored_size == lost.stored_size);
    // Not stored any more (or never known): nothing to reset.
    CHECK_FALSE(store->reset_chunk_for_upload(lost.hash).value());
    CHECK_FALSE(store->reset_chunk_for_upload(test::digest_of("unknown")).value());

    // At once, without waiting for the claim timeout; a frame of another
    // size would change the recorded manifest, so it cannot take it over.
    auto other_size = store->claim_chunk(lost.hash, lost.raw_size, lost.stored_size + 1);
    REQUIRE_FALSE(other_size.ok());
    CHECK(other_size.error().code == ErrorCode::conflict);
    auto again = store->claim_chunk(lost.hash, lost.raw_size, lost.stored_size).value();
    CHECK(again.outcome == ChunkClaimOutcome::claimed_by_me);
    CHECK(again.claim_id > reset->claim_id);
    REQUIRE(store->mark_chunk_stored(lost.hash, again.claim_id).ok());
    CHECK(store->get_chunk(lost.hash).value()->state == ChunkState::stored);
    CHECK(store->manifest(nar.manifest_hash).value() == nar.manifest);
}
