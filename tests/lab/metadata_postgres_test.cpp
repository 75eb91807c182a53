// PostgresMetadataStore beyond what every MetadataStore does (those tests run
// on both databases): one schema history with SQLite, several replicas on one
// database, the connection pool, a server restart, and login failures.
#include "app/lab.hpp"
#include "config/environment.hpp"
#include "config/server_config.hpp"
#include "metadata/postgres_migrations.hpp"
#include "metadata_support.hpp"

#include <atomic>
#include <cstdlib>
#include <set>
#include <thread>

using namespace nixedge;
using namespace nixedge::lab;
using nixedge::test::PostgresBackend;
using nixedge::test::SqliteBackend;
using nixedge::test::TempDir;
using nixedge::test::TestClock;

namespace {

// "table.column" for every column of the store's tables.
template <class Query> std::set<std::string> first_column(Query& q) {
    std::set<std::string> values;
    while (q.step().value())
        values.insert(q.text(0));
    return values;
}

std::set<std::string> sqlite_columns(SqliteBackend& db) {
    auto c = SqliteConnection::open(db.file(), std::chrono::milliseconds(1000));
    REQUIRE(c.ok());
    auto q = (*c)->query("SELECT m.name || '.' || p.name FROM sqlite_master m, "
                         "pragma_table_info(m.name) p WHERE m.type = 'table' "
                         "AND m.name NOT LIKE 'sqlite_%'");
    return first_column(q);
}

std::set<std::string> postgres_columns(PostgresBackend& db) {
    auto c = PostgresConnection::open(db.url);
    REQUIRE(c.ok());
    auto q = (*c)->query("SELECT table_name || '.' || column_name FROM information_schema.columns "
                         "WHERE table_schema = ?",
                         db.schema);
    return first_column(q);
}

std::set<std::string> sqlite_indexes(SqliteBackend& db) {
    auto c = SqliteConnection::open(db.file(), std::chrono::milliseconds(1000));
    REQUIRE(c.ok());
    auto q = (*c)->query("SELECT name FROM sqlite_master WHERE type = 'index' "
                         "AND name NOT LIKE 'sqlite_%'");
    return first_column(q);
}

std::set<std::string> postgres_indexes(PostgresBackend& db) {
    auto c = PostgresConnection::open(db.url);
    REQUIRE(c.ok());
    // Named indexes only: those of keys and unique constraints are SQLite's
    // sqlite_autoindex_*.
    auto q = (*c)->query("SELECT indexname FROM pg_indexes WHERE schemaname = ? AND indexname "
                         "NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
                         db.schema);
    return first_column(q);
}

std::string script(const char* name) {
    return std::string(NIXEDGE_SOURCE_DIR) + "/tests/lib/" + name;
}

// A PostgreSQL server of this test's own (tests/lib/postgres.sh), for tests
// that restart it: the shared one serves the other tests meanwhile.
struct OwnServer {
    TempDir dir;
    std::string state = (dir / "state").string();
    std::string url;

    OwnServer() {
        REQUIRE(std::system((script("postgres.sh") + " start " + state + " >/dev/null").c_str()) ==
                0);
        setenv_url();
    }
    ~OwnServer() { (void)std::system((script("postgres.sh") + " stop " + state).c_str()); }
    void restart() {
        REQUIRE(std::system((script("postgres.sh") + " restart " + state).c_str()) == 0);
    }

  private:
    void setenv_url() {
        std::ifstream in(state);
        const std::string prefix = "NIXEDGE_TEST_POSTGRES_URL=";
        for (std::string line; std::getline(in, line);)
            if (line.starts_with(prefix))
                url = line.substr(prefix.size());
        REQUIRE_FALSE(url.empty());
    }
};

} // namespace

TEST_CASE("postgres: one schema history with SQLite", "[postgres]") {
    auto sqlite = sqlite_migrations();
    auto postgres = postgres_migrations();
    REQUIRE(postgres.size() == sqlite.size());
    for (std::size_t i = 0; i < postgres.size(); ++i)
        CHECK(postgres[i].version == sqlite[i].version);

    // The same tables, columns and named indexes at every version.
    for (int version = 1; version <= latest_schema_version(); ++version) {
        INFO("schema version " << version);
        TestClock clock;
        SqliteBackend lite;
        PostgresBackend pg;
        test::open_store(lite, clock, {{}, version});
        test::open_store(pg, clock, {{}, version});
        CHECK(postgres_columns(pg) == sqlite_columns(lite));
        CHECK(postgres_indexes(pg) == sqlite_indexes(lite));
        CHECK(pg.scalar("SELECT string_agg(description, '|' ORDER BY version) "
                        "FROM schema_migrations") ==
              lite.scalar("SELECT group_concat(description, '|') FROM "
                          "(SELECT description FROM schema_migrations ORDER BY version)"));
    }
}

TEST_CASE("postgres: an old database is migrated at open, a newer one refused", "[postgres]") {
    PostgresBackend db;
    TestClock clock;
    const auto key = test::make_key("old-1");
    {
        auto store = test::open_store(db, clock, {{}, 1});
        REQUIRE(store->create_cache("old", {}, key).ok());
        CHECK(db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = '" +
                        db.schema + "' AND table_name = 'paths'") == "0");
    }
    clock.advance(60);
    auto store = db.open_postgres(clock);
    REQUIRE(store.ok());
    CHECK((*store)->schema_version().value() == latest_schema_version());
    CHECK((*store)->get_cache("old").value().has_value());
    CHECK(db.scalar("SELECT min(applied_at) FROM schema_migrations WHERE version > 1") ==
          "1700000060");

    db.admin("SET search_path = " + db.schema +
             "; INSERT INTO schema_migrations VALUES (99, 'from the future', 0)");
    auto newer = db.try_open(clock);
    REQUIRE_FALSE(newer.ok());
    CHECK(newer.error().code == ErrorCode::database_unavailable);
    CHECK_THAT(newer.error().detail, Catch::Contains("newer than this build"));
}

TEST_CASE("postgres: replicas opening a new database at once migrate it once", "[postgres]") {
    PostgresBackend db;
    TestClock clock;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            if (!db.try_open(clock))
                ++failures;
        });
    for (auto& t : threads)
        t.join();
    CHECK(failures == 0);
    CHECK(db.scalar("SELECT count(*) FROM schema_migrations") ==
          std::to_string(latest_schema_version()));
}

TEST_CASE("postgres: two replicas claiming and publishing the same closure end consistent",
          "[postgres]") {
    PostgresBackend db;
    TestClock clock;
    auto a = test::open_store(db, clock);
    auto b = test::open_store(db, clock);
    const auto key = test::make_key("main-1");
    REQUIRE(a->create_cache("main", test::edge_settings(), key).ok());

    // Both replicas ingest the same NARs (chunks in different orders, some
    // shared between NARs), then publish the same paths.
    constexpr int nars = 12, chunks_per_nar = 6;
    auto pieces = [](int n) {
        std::vector<std::string> p;
        for (int c = 0; c < chunks_per_nar; ++c)
            p.push_back("chunk " + std::to_string((n * 3 + c) % 40));
        return p;
    };
    std::atomic<int> errors{0}, claimed_by_me{0}, published{0}, unchanged{0};
    auto replica = [&](MetadataStore& store, bool reverse) {
        for (int i = 0; i < nars; ++i) {
            int n = reverse ? nars - 1 - i : i;
            auto p = pieces(n);
            if (reverse)
                std::reverse(p.begin(), p.end());
            std::vector<ChunkClaimRequest> requests;
            for (const auto& piece : p)
                requests.push_back({test::digest_of(piece), piece.size(), piece.size() / 2 + 1});
            // Claim until every chunk is stored (by us or by the other).
            for (int round = 0; round < 200; ++round) {
                auto claims = store.claim_chunks(requests);
                if (!claims) {
                    ++errors;
                    return;
                }
                std::vector<ChunkStoredRequest> mine;
                bool waiting = false;
                for (std::size_t k = 0; k < claims->size(); ++k) {
                    auto outcome = (*claims)[k].outcome;
                    if (outcome == ChunkClaimOutcome::claimed_by_me) {
                        mine.push_back({requests[k].hash, (*claims)[k].claim_id});
                        ++claimed_by_me;
                    }
                    waiting |= outcome == ChunkClaimOutcome::claimed_by_other;
                }
                if (!mine.empty() && !store.mark_chunks_stored(mine))
                    ++errors;
                if (!waiting)
                    break;
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            // Built here, not with test::record_nar: Catch's assertions are
            // not for other threads.
            test::RecordedNar recorded;
            std::string bytes;
            for (const auto& piece : pieces(n)) {
                recorded.manifest.chunks.push_back(
                    {test::digest_of(piece), piece.size(), piece.size() / 2 + 1});
                bytes += piece;
            }
            recorded.manifest.nar_hash = test::digest_of(bytes);
            recorded.manifest.nar_size = bytes.size();
            auto hash = store.record_nar(recorded.manifest, std::nullopt);
            if (!hash) {
                ++errors;
                continue;
            }
            recorded.manifest_hash = *hash;
            auto label = "path-" + std::to_string(n);
            auto info = test::make_narinfo(test::store_path(label), recorded, key);
            auto outcome = store.publish_path("main", info, std::nullopt);
            if (!outcome)
                ++errors;
            else if (*outcome == PublishOutcome::published)
                ++published;
            else
                ++unchanged;
        }
    };
    std::thread ta([&] { replica(*a, false); });
    std::thread tb([&] { replica(*b, true); });
    ta.join();
    tb.join();

    std::set<std::string> distinct;
    for (int n = 0; n < nars; ++n)
        for (const auto& piece : pieces(n))
            distinct.insert(piece);
    const auto chunk_count = std::to_string(distinct.size());

    CHECK(errors == 0);
    CHECK(published == nars);
    CHECK(unchanged == nars);
    // Each distinct chunk claimed (and so uploaded) exactly once.
    CHECK(claimed_by_me == static_cast<int>(distinct.size()));
    CHECK(db.scalar("SELECT count(*) FROM chunks WHERE state = 'stored'") == chunk_count);
    CHECK(db.scalar("SELECT count(*) FROM chunks WHERE state <> 'stored'") == "0");
    CHECK(db.scalar("SELECT count(*) FROM nars") == std::to_string(nars));
    CHECK(db.scalar("SELECT count(*) FROM paths") == std::to_string(nars));
    // Every published narinfo's NAR is recorded with all its chunks.
    CHECK(db.scalar("SELECT count(*) FROM paths p LEFT JOIN nars n "
                    "ON n.manifest_hash = p.manifest_hash WHERE n.manifest_hash IS NULL") == "0");
    CHECK(db.scalar("SELECT count(*) FROM nar_chunks") == std::to_string(nars * chunks_per_nar));
    // One outbox row per object per publish, plus the cache's own.
    CHECK(db.scalar("SELECT count(*) FROM outbox WHERE object_key LIKE '%.narinfo'") ==
          std::to_string(nars));
    auto plan = a->edge_plan();
    REQUIRE(plan.ok());
    CHECK(plan->immutable_keys.size() == distinct.size() + nars);
}

TEST_CASE("postgres: the pool never opens more connections than allowed", "[postgres]") {
    PostgresBackend db;
    TestClock clock;
    auto store = db.open_postgres(clock, {}, 3);
    REQUIRE(store.ok());
    auto& s = **store;
    REQUIRE(s.create_cache("main", {}, test::make_key("main-1")).ok());
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    std::atomic<std::size_t> most{0};
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                if (!s.get_cache("main"))
                    ++errors;
                auto open = s.open_connections();
                for (auto seen = most.load();
                     open > seen && !most.compare_exchange_weak(seen, open);)
                    ;
            }
        });
    for (auto& t : threads)
        t.join();
    CHECK(errors == 0);
    CHECK(most <= 3);
    CHECK(s.open_connections() >= 1);
}

TEST_CASE("postgres: [database] max_connections sizes the server's pool", "[postgres]") {
    PostgresBackend db;
    TempDir data;
    FixedEnvironment env{{"NIXEDGE_DATABASE_URL", db.url}};
    auto config = parse_config("[server]\ndata_dir = \"" + data.path().string() +
                                   "\"\n[database]\nmax_connections = 3\n",
                               env);
    REQUIRE(config.ok());
    auto lab = open_lab(*config);
    if (!lab)
        FAIL(lab.error().detail);
    auto* store = dynamic_cast<PostgresMetadataStore*>(lab->metadata.get());
    REQUIRE(store != nullptr);
    REQUIRE(store->create_cache("main", {}, test::make_key("main-1")).ok());
    // A GC run's drain: the GC lock, the outbox lock and a query at once.
    REQUIRE(store
                ->try_with_gc_lock([&]() -> Result<void> {
                    return store->with_outbox_lock([&]() -> Result<void> {
                        CHECK(store->get_cache("main").value().has_value());
                        CHECK(store->open_connections() == 3);
                        return {};
                    });
                })
                .value());
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    std::atomic<std::size_t> most{0};
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                if (!store->get_cache("main"))
                    ++errors;
                auto open = store->open_connections();
                for (auto seen = most.load();
                     open > seen && !most.compare_exchange_weak(seen, open);)
                    ;
            }
        });
    for (auto& t : threads)
        t.join();
    CHECK(errors == 0);
    CHECK(most <= 3);
}

TEST_CASE("postgres: the store recovers after the server restarts", "[postgres]") {
    OwnServer server;
    TestClock clock;
    lab::PostgresMetadataOptions options;
    options.clock = clock.clock();
    auto opened = PostgresMetadataStore::open(server.url, options);
    REQUIRE(opened.ok());
    auto& store = **opened;
    const auto key = test::make_key("main-1");
    REQUIRE(store.create_cache("main", test::edge_settings(), key).ok());
    auto before = test::record_nar(store, {"before restart"});
    REQUIRE(store
                .publish_path("main", test::make_narinfo(test::store_path("a"), before, key),
                              std::nullopt)
                .ok());

    // Every pooled connection dies with the server; the next calls (reads
    // and writes) reconnect by themselves.
    server.restart();
    auto cache = store.get_cache("main");
    REQUIRE(cache.ok());
    CHECK(cache->has_value());
    auto after = test::record_nar(store, {"after restart"});
    CHECK(store
              .publish_path("main", test::make_narinfo(test::store_path("b"), after, key),
                            std::nullopt)
              .value() == PublishOutcome::published);
    CHECK(store.narinfo("main", test::store_hash("a")).value().has_value());

    // Restarted while a writer publishes path after path: the calls in
    // flight may fail, as database_unavailable only, and the writer goes on
    // once the server is back. A publish whose COMMIT was cut off may have
    // committed: it is then "unchanged" when pushed again.
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, unavailable{0}, other{0}, ambiguous{0};
    std::thread writer([&] {
        for (int i = 0; !stop || i < 5; ++i) {
            test::RecordedNar nar;
            const std::string piece = "running " + std::to_string(i);
            nar.manifest.chunks.push_back({test::digest_of(piece), piece.size(), 4});
            nar.manifest.nar_hash = test::digest_of(piece);
            nar.manifest.nar_size = piece.size();
            auto step = [&]() -> Result<void> {
                auto claim = store.claim_chunk(test::digest_of(piece), piece.size(), 4);
                if (!claim)
                    return claim.error();
                // Only this writer claims this chunk: "claimed by other" is
                // its own earlier claim whose COMMIT landed while the
                // connection died (the call failed). Like a crashed writer's,
                // that claim waits for the claim timeout; not this test's
                // business.
                if (claim->outcome == ChunkClaimOutcome::claimed_by_other)
                    return make_error(ErrorCode::conflict, "an earlier attempt holds the claim");
                if (claim->outcome == ChunkClaimOutcome::claimed_by_me)
                    if (auto marked =
                            store.mark_chunk_stored(test::digest_of(piece), claim->claim_id);
                        !marked)
                        return marked;
                auto hash = store.record_nar(nar.manifest, std::nullopt);
                if (!hash)
                    return hash.error();
                nar.manifest_hash = *hash;
                auto info =
                    test::make_narinfo(test::store_path("run-" + std::to_string(i)), nar, key);
                auto published = store.publish_path("main", info, std::nullopt);
                if (!published)
                    return published.error();
                return {};
            };
            // Pushed again until it lands, as a client retries.
            for (int attempt = 0; attempt < 100; ++attempt) {
                auto done = step();
                if (done) {
                    ++ok;
                    break;
                }
                if (done.error().code == ErrorCode::conflict) {
                    ++ambiguous; // see step()
                    break;
                }
                (done.error().code == ErrorCode::database_unavailable ? unavailable : other)++;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    server.restart();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
    writer.join();
    CHECK(other == 0);
    CHECK(ok >= 5);
    auto totals = store.storage_totals();
    REQUIRE(totals.ok());
    CHECK(totals->paths == static_cast<std::uint64_t>(ok) + 2);
    CHECK(ambiguous <= 1);
    UNSCOPED_INFO("writes failed during the restart: "
                  << unavailable << ", claims left to the timeout: " << ambiguous);

    // A server that stays down is database_unavailable, not a hang or a crash.
    REQUIRE(std::system((script("postgres.sh") + " stop " + server.state).c_str()) == 0);
    auto down = store.get_cache("main");
    REQUIRE_FALSE(down.ok());
    CHECK(down.error().code == ErrorCode::database_unavailable);
}

TEST_CASE("postgres: ping fails while the server is down and answers once it is back",
          "[postgres]") {
    OwnServer server;
    TestClock clock;
    lab::PostgresMetadataOptions options;
    options.clock = clock.clock();
    auto opened = PostgresMetadataStore::open(server.url, options);
    REQUIRE(opened.ok());
    auto& store = **opened;
    CHECK(store.ping().ok());
    REQUIRE(std::system((script("postgres.sh") + " stop-server " + server.state).c_str()) == 0);
    auto down = store.ping();
    REQUIRE_FALSE(down.ok());
    CHECK(down.error().code == ErrorCode::database_unavailable);
    REQUIRE(std::system((script("postgres.sh") + " start-server " + server.state).c_str()) == 0);
    CHECK(store.ping().ok());
}

TEST_CASE("postgres: a bad URL or password is database_unavailable without the password",
          "[postgres]") {
    auto url = test::require_postgres_test_url();
    // The harness URL is postgresql://nixedge:<password>@127.0.0.1:<port>/nixedge.
    auto at = url.find('@');
    REQUIRE(at != std::string::npos);
    auto wrong = "postgresql://nixedge:not-the-Secret-42" + url.substr(at);
    auto opened = PostgresMetadataStore::open(wrong);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == ErrorCode::database_unavailable);
    CHECK_THAT(opened.error().detail, Catch::Contains("password authentication failed"));
    CHECK_THAT(opened.error().detail, !Catch::Contains("not-the-Secret-42"));
    CHECK_THAT(opened.error().detail, Catch::Contains("nixedge:***@"));

    auto right_password = url.substr(0, at);
    auto no_database = url.substr(0, url.rfind('/')) + "/no_such_database";
    auto missing = PostgresMetadataStore::open(no_database);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == ErrorCode::database_unavailable);
    CHECK_THAT(missing.error().detail, !Catch::Contains(right_password.substr(21)));

    auto nobody = PostgresMetadataStore::open("postgresql://u:pw-Secret-7@127.0.0.1:1/x");
    REQUIRE_FALSE(nobody.ok());
    CHECK(nobody.error().code == ErrorCode::database_unavailable);
    CHECK_THAT(nobody.error().detail, !Catch::Contains("pw-Secret-7"));
}
