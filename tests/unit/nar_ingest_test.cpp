#include "nixedge/nar_ingest.hpp"
#include "test_files.hpp"

#include <catch2/catch.hpp>

using namespace nixedge;

namespace {

const IngestOptions small_chunks{.chunking = {.min_size = 64, .avg_size = 256, .max_size = 1024}};

struct Collected {
    Bytes joined;
    std::vector<Sha256Digest> hashes;
};

auto collect_into(Collected& collected) {
    return [&collected](const Sha256Digest& hash, ByteView raw) -> Result<void> {
        CHECK(Sha256::digest(raw) == hash);
        collected.joined.insert(collected.joined.end(), raw.begin(), raw.end());
        collected.hashes.push_back(hash);
        return {};
    };
}

Result<IngestedNar> ingest(const std::string& nar, std::size_t slice, Collected& collected,
                           const IngestOptions& options = small_chunks) {
    auto ingestor = NarIngestor::create(options);
    REQUIRE(ingestor.ok());
    auto bytes = as_bytes(nar);
    for (std::size_t at = 0; at < bytes.size(); at += slice) {
        auto fed = ingestor->feed(bytes.subspan(at, std::min(slice, bytes.size() - at)),
                                  collect_into(collected));
        if (!fed)
            return fed.error();
    }
    return ingestor->finish(collect_into(collected));
}

} // namespace

TEST_CASE("ingest of Nix-made NARs: hash, size, chunks and listing", "[nar_ingest]") {
    auto dir = test::data_dir() / "nixcache";
    for (const auto& nar_file : test::files_with_suffix(dir / "nars", ".nar")) {
        INFO(nar_file.filename().string());
        auto nar = test::read_file(nar_file);
        auto hash = nar_file.stem().string();
        Collected whole, sliced;
        auto a = ingest(nar, nar.size(), whole);
        auto b = ingest(nar, 7, sliced);
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        CHECK(a->nar_hash == Sha256::digest(as_bytes(nar)));
        CHECK(a->nar_size == nar.size());
        CHECK(whole.joined == Bytes(nar.begin(), nar.end()));
        CHECK(whole.hashes == sliced.hashes);
        CHECK(a->chunks.size() == whole.hashes.size());
        CHECK(a->listing == test::read_file(dir / "cache" / (hash + ".ls")));
        CHECK(a->listing == b->listing);
    }
}

TEST_CASE("ingest rejects malformed, truncated and oversized NARs", "[nar_ingest]") {
    auto nar = test::read_file(test::data_dir() / "nixcache" / "nars" /
                               "z1x7778cix14wkf9vyvv4cb11626crip.nar");
    Collected collected;
    auto truncated = ingest(nar.substr(0, nar.size() - 8), 16, collected);
    REQUIRE_FALSE(truncated.ok());
    CHECK(truncated.error().code == ErrorCode::invalid_nar);

    auto corrupt = nar;
    corrupt[1] ^= 0x20;
    CHECK(ingest(corrupt, 16, collected).error().code == ErrorCode::invalid_nar);

    auto limited = small_chunks;
    limited.max_nar_size = nar.size() - 1;
    CHECK(ingest(nar, 16, collected, limited).error().code == ErrorCode::limit_exceeded);
}

TEST_CASE("a failing chunk sink stops the ingest", "[nar_ingest]") {
    auto nar = test::read_file(test::data_dir() / "nixcache" / "nars" /
                               "z1x7778cix14wkf9vyvv4cb11626crip.nar");
    auto ingestor = NarIngestor::create(small_chunks);
    REQUIRE(ingestor.ok());
    auto refuse = [](const Sha256Digest&, ByteView) -> Result<void> {
        return make_error(ErrorCode::internal, "storage down");
    };
    auto fed = ingestor->feed(as_bytes(nar), refuse);
    auto done = fed.ok() ? ingestor->finish(refuse) : Result<IngestedNar>(fed.error());
    REQUIRE_FALSE(done.ok());
    CHECK(done.error().detail == "storage down");
    CHECK_FALSE(ingestor->feed(as_bytes(nar), refuse).ok());
}
