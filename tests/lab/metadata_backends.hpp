// The databases the metadata tests run on: each test that holds for every
// MetadataStore is a TEMPLATE_TEST_CASE over SqliteBackend and
// PostgresBackend. A backend object is one empty database for one test;
// every open() reaches that same database (a reopen, or a second replica).
//
// PostgreSQL: the server is the one tests/lib/postgres.sh started for the
// whole ctest run (FIXTURES_SETUP in tests/lab/CMakeLists.txt), named by
// NIXEDGE_TEST_POSTGRES_STATE (its state file) or NIXEDGE_TEST_POSTGRES_URL.
// Each test gets a schema of its own in that database (search_path in the
// URL), dropped at the end, so tests run in parallel on one server.
#pragma once

#include "metadata/postgres_connection.hpp"
#include "metadata/postgres_metadata_store.hpp"
#include "metadata/sqlite_connection.hpp"
#include "metadata/sqlite_metadata_store.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>

namespace nixedge::test {

// A time the test sets; the store reads it through its clock.
struct TestClock {
    std::shared_ptr<std::atomic<lab::UnixTime>> now =
        std::make_shared<std::atomic<lab::UnixTime>>(1'700'000'000);
    lab::Clock clock() const {
        return [now = now] { return now->load(); };
    }
    void advance(lab::UnixTime seconds) { *now += seconds; }
};

// What the tests set, whichever the database.
struct StoreOptions {
    lab::ClaimRules claims;
    int schema_version = 0; // 0: the latest
};

struct SqliteBackend {
    TempDir dir;

    std::filesystem::path file() const { return dir / "meta.db"; }

    Result<std::unique_ptr<lab::MetadataStore>> try_open(const TestClock& clock,
                                                         StoreOptions options = {}) {
        lab::SqliteMetadataOptions o;
        o.clock = clock.clock();
        o.claims = options.claims;
        o.schema_version = options.schema_version;
        auto store = lab::SqliteMetadataStore::open(file(), std::move(o));
        if (!store)
            return store.error();
        return std::unique_ptr<lab::MetadataStore>(std::move(*store));
    }

    // The first column of the first row of `sql`, as text, on a connection
    // of its own (outside any store).
    std::string scalar(const std::string& sql) {
        auto c = lab::SqliteConnection::open(file(), std::chrono::milliseconds(1000));
        REQUIRE(c.ok());
        auto q = (*c)->query(sql);
        auto row = q.step();
        REQUIRE(row.ok());
        REQUIRE(*row);
        return q.text(0);
    }

    // Runs `sql` on a connection of its own, as a buggy caller might.
    Result<void> execute(const std::string& sql) {
        auto c = lab::SqliteConnection::open(file(), std::chrono::milliseconds(1000));
        REQUIRE(c.ok());
        return (*c)->exec(sql.c_str());
    }
};

// The harness's URL, or nullopt outside a ctest run with the fixture.
inline std::optional<std::string> postgres_test_url() {
    if (const char* url = std::getenv("NIXEDGE_TEST_POSTGRES_URL"); url && *url)
        return std::string(url);
    const char* state = std::getenv("NIXEDGE_TEST_POSTGRES_STATE");
    if (!state || !*state)
        return std::nullopt;
    std::ifstream in(state);
    const std::string prefix = "NIXEDGE_TEST_POSTGRES_URL=";
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(prefix))
            return line.substr(prefix.size());
    return std::nullopt;
}

inline std::string require_postgres_test_url() {
    auto url = postgres_test_url();
    if (!url)
        FAIL("no PostgreSQL for this test: run it through ctest (which starts one with "
             "tests/lib/postgres.sh), or set NIXEDGE_TEST_POSTGRES_URL");
    return *url;
}

// `url` with libpq options appended (url-encoded "-c name=value" pairs).
inline std::string with_search_path(const std::string& url, const std::string& schema) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
           schema;
}

struct PostgresBackend {
    std::string base_url = require_postgres_test_url();
    std::string schema = new_schema_name();
    std::string url = with_search_path(base_url, schema);

    PostgresBackend() { admin("CREATE SCHEMA " + schema); }
    ~PostgresBackend() { (void)run_admin("DROP SCHEMA " + schema + " CASCADE"); }
    PostgresBackend(const PostgresBackend&) = delete;
    PostgresBackend& operator=(const PostgresBackend&) = delete;

    Result<std::unique_ptr<lab::MetadataStore>> try_open(const TestClock& clock,
                                                         StoreOptions options = {}) {
        auto store = open_postgres(clock, options);
        if (!store)
            return store.error();
        return std::unique_ptr<lab::MetadataStore>(std::move(*store));
    }

    Result<std::unique_ptr<lab::PostgresMetadataStore>>
    open_postgres(const TestClock& clock, StoreOptions options = {},
                  std::size_t max_connections = 8) {
        lab::PostgresMetadataOptions o;
        o.clock = clock.clock();
        o.claims = options.claims;
        o.schema_version = options.schema_version;
        o.max_connections = max_connections;
        return lab::PostgresMetadataStore::open(url, std::move(o));
    }

    std::string scalar(const std::string& sql) {
        auto c = lab::PostgresConnection::open(url);
        REQUIRE(c.ok());
        auto q = (*c)->query(sql);
        auto row = q.step();
        if (!row)
            FAIL(row.error().detail);
        REQUIRE(*row);
        return q.text(0);
    }

    Result<void> execute(const std::string& sql) {
        auto c = lab::PostgresConnection::open(url);
        REQUIRE(c.ok());
        return (*c)->exec(sql.c_str());
    }

    void admin(const std::string& sql) {
        auto ran = run_admin(sql);
        if (!ran)
            FAIL(sql << ": " << ran.error().detail);
    }

  private:
    static std::string new_schema_name() {
        static std::atomic<int> counter{0};
        std::random_device random;
        return "t" + std::to_string(random()) + "_" + std::to_string(counter++);
    }
    Result<void> run_admin(const std::string& sql) {
        auto c = lab::PostgresConnection::open(base_url);
        if (!c)
            return c.error();
        return (*c)->exec(sql.c_str());
    }
};

// The store of a backend, or the test fails with the reason.
template <class Backend>
std::unique_ptr<lab::MetadataStore> open_store(Backend& db, const TestClock& clock,
                                               StoreOptions options = {}) {
    auto store = db.try_open(clock, options);
    if (!store)
        FAIL("open: " << store.error().detail);
    return std::move(store).value();
}

} // namespace nixedge::test
