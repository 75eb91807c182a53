#include "nixedge/sync_status.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace nixedge;

TEST_CASE("sync/status as the sync job writes it", "[sync_status]") {
    auto status = decode_sync_status("nixedge-sync-status 1\nstarted 100\nfinished 160\nresult ok\n"
                                     "phase done\nlast-success 160\nplan-immutable 42\n"
                                     "copied-immutable 3\n");
    REQUIRE(status.ok());
    CHECK(status->started == 100);
    CHECK(status->finished == 160);
    CHECK(status->succeeded);
    CHECK(status->phase == "done");
    CHECK(status->last_success == 160);

    auto failed = decode_sync_status("nixedge-sync-status 1\nstarted 200\nfinished 201\n"
                                     "result failed\nphase copy-immutable\n");
    REQUIRE(failed.ok());
    CHECK_FALSE(failed->succeeded);
    CHECK(failed->phase == "copy-immutable");
    CHECK_FALSE(failed->last_success);
}

TEST_CASE("sync/status refuses what the sync job never writes", "[sync_status]") {
    const std::string ok = "nixedge-sync-status 1\nstarted 1\nfinished 2\nresult ok\nphase done\n";
    for (const std::string& text : std::vector<std::string>{
             "",
             "nixedge-sync-status 2\nstarted 1\nfinished 2\nresult ok\nphase done\n",
             ok.substr(0, ok.size() - 1),
             "nixedge-sync-status 1\nfinished 2\nresult ok\nphase done\n",
             ok + "started 3\n",
             "nixedge-sync-status 1\nstarted -1\nfinished 2\nresult ok\nphase done\n",
             "nixedge-sync-status 1\nstarted 1x\nfinished 2\nresult ok\nphase done\n",
             "nixedge-sync-status 1\nstarted 1\nfinished 2\nresult maybe\nphase done\n",
             ok + "lonely\n",
             ok + "last-success soon\n",
         }) {
        INFO(text);
        auto status = decode_sync_status(text);
        REQUIRE_FALSE(status.ok());
        CHECK(status.error().code == ErrorCode::invalid_argument);
    }
}
