// The mirror-freshness gauges, read from sync/status in the bucket.
#include "routes/mirror_status.hpp"

#include "nixedge/bucket_layout.hpp"
#include "storage/local_storage.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>

using namespace nixedge;
using namespace nixedge::lab;
using nixedge::test::TempDir;

namespace {

struct MirrorGauges {
    MirrorGauges() {
        auto opened = LocalStorage::open(dir.path() / "bucket");
        REQUIRE(opened.ok());
        storage = std::move(opened).value();
        REQUIRE(register_mirror_gauges(
                    metrics, storage, [this] { return now.load(); }, std::chrono::seconds(0))
                    .ok());
    }

    void write_status(const std::string& text) {
        REQUIRE(storage->put(bucket_key::sync_status(), as_bytes(text)).ok());
    }

    bool shows(const std::string& line) const {
        return metrics.render().find("\n" + line + "\n") != std::string::npos;
    }

    TempDir dir;
    std::shared_ptr<Storage> storage;
    http::Metrics metrics;
    std::atomic<std::int64_t> now{1000};
};

} // namespace

TEST_CASE("mirror gauges: no sync yet", "[mirror_status]") {
    MirrorGauges gauges;
    INFO(gauges.metrics.render());
    CHECK(gauges.shows("nixedge_mirror_sync_status_present 0"));
    CHECK(gauges.shows("nixedge_mirror_last_sync_success 0"));
    CHECK(gauges.shows("nixedge_mirror_age_seconds -1"));
}

TEST_CASE("mirror gauges: the age counts from the last successful run", "[mirror_status]") {
    MirrorGauges gauges;
    gauges.write_status("nixedge-sync-status 1\nstarted 900\nfinished 960\nresult ok\nphase done\n"
                        "last-success 960\ncopied-immutable 4\n");
    gauges.now = 1000;
    INFO(gauges.metrics.render());
    CHECK(gauges.shows("nixedge_mirror_sync_status_present 1"));
    CHECK(gauges.shows("nixedge_mirror_last_sync_success 1"));
    CHECK(gauges.shows("nixedge_mirror_last_sync_finished_seconds 960"));
    CHECK(gauges.shows("nixedge_mirror_last_success_seconds 960"));
    CHECK(gauges.shows("nixedge_mirror_age_seconds 40"));

    // A failed run: the last sync failed, the age keeps counting from 960.
    gauges.write_status("nixedge-sync-status 1\nstarted 1800\nfinished 1810\nresult failed\n"
                        "phase copy-immutable\nlast-success 960\n");
    gauges.now = 1900;
    CHECK(gauges.shows("nixedge_mirror_last_sync_success 0"));
    CHECK(gauges.shows("nixedge_mirror_last_sync_finished_seconds 1810"));
    CHECK(gauges.shows("nixedge_mirror_age_seconds 940"));
}

TEST_CASE("mirror gauges: an unreadable sync/status reads as absent", "[mirror_status]") {
    MirrorGauges gauges;
    gauges.write_status("not a status\n");
    CHECK(gauges.shows("nixedge_mirror_sync_status_present 0"));
    CHECK(gauges.shows("nixedge_mirror_age_seconds -1"));
}
