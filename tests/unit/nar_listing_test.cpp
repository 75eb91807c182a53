#include "nar_test_support.hpp"

#include "nixedge/nar.hpp"
#include "nixedge/nar_listing.hpp"

#include <catch2/catch.hpp>

using namespace nixedge;
using namespace nixedge::test;
using Catch::Matchers::Contains;

namespace {

std::string listing_of(ByteView nar) {
    auto listing = nar_listing(nar);
    REQUIRE_OK(listing);
    return *listing;
}

// The listing built while the NAR arrives in small slices, as the server sees it.
std::string streamed_listing_of(ByteView nar, std::size_t slice) {
    NarParser parser;
    NarListingBuilder builder;
    for (std::size_t pos = 0; pos < nar.size(); pos += slice) {
        auto piece = nar.subspan(pos, std::min(slice, nar.size() - pos));
        REQUIRE_OK(for_each_nar_event(parser, piece,
                                      [&](const NarEvent& event) { return builder.add(event); }));
    }
    REQUIRE_OK(parser.finish());
    auto listing = builder.finish();
    REQUIRE_OK(listing);
    return *listing;
}

std::string escaped(std::string_view s) {
    std::string out;
    append_nix_json_string(out, s);
    return out;
}

} // namespace

TEST_CASE("listings are byte-identical to the ones Nix 2.8 wrote", "[listing]") {
    for (const auto& name : golden_nar_cases) {
        INFO("case " << name);
        Bytes nar = read_golden_nar(name);
        const std::string expected = read_golden(name, ".ls");
        REQUIRE_FALSE(expected.empty());
        CHECK(listing_of(nar) == expected);
        CHECK(streamed_listing_of(nar, 1) == expected);
        CHECK(streamed_listing_of(nar, 13) == expected);
    }
}

TEST_CASE("listing of each node type", "[listing]") {
    {
        NarWriter w;
        REQUIRE_OK(w.file("", as_bytes("abc")));
        CHECK(listing_of(w.take_output()) ==
              R"({"version":1,"root":{"type":"regular","size":3,"narOffset":96}})");
    }
    {
        NarWriter w;
        REQUIRE_OK(w.file("", {}, true));
        CHECK(
            listing_of(w.take_output()) ==
            R"({"version":1,"root":{"type":"regular","size":0,"executable":true,"narOffset":128}})");
    }
    {
        NarWriter w;
        REQUIRE_OK(w.symlink("", "../x"));
        CHECK(listing_of(w.take_output()) ==
              R"({"version":1,"root":{"type":"symlink","target":"../x"}})");
    }
    {
        NarWriter w;
        REQUIRE_OK(w.start_directory(""));
        REQUIRE_OK(w.start_directory("a"));
        REQUIRE_OK(w.start_directory("b"));
        REQUIRE_OK(w.end_directory());
        REQUIRE_OK(w.symlink("c", "b"));
        REQUIRE_OK(w.end_directory());
        REQUIRE_OK(w.start_directory("d"));
        REQUIRE_OK(w.end_directory());
        REQUIRE_OK(w.end_directory());
        CHECK(listing_of(w.take_output()) ==
              R"({"version":1,"root":{"type":"directory","entries":{"a":{"type":"directory",)"
              R"("entries":{"b":{"type":"directory","entries":{}},"c":{"type":"symlink",)"
              R"("target":"b"}}},"d":{"type":"directory","entries":{}}}}})");
    }
}

TEST_CASE("JSON strings are escaped exactly as Nix escapes them", "[listing]") {
    CHECK(escaped("") == R"("")");
    CHECK(escaped("plain name.txt") == R"("plain name.txt")");
    CHECK(escaped("q\"b\\") == R"("q\"b\\")");
    CHECK(escaped("\n\r\t") == R"("\n\r\t")");
    // \b and \f are not shortened; DEL and every byte >= 0x80 pass as they are.
    CHECK(escaped(std::string_view("\x00\x01\x08\x0c\x1b\x1f", 6)) ==
          R"("\u0000\u0001\u0008\u000c\u001b\u001f")");
    CHECK(escaped("\x7f\xc3\xa9\xff") == "\"\x7f\xc3\xa9\xff\"");
    CHECK(escaped("/") == R"("/")");
}

TEST_CASE("listing fails for an invalid or incomplete NAR", "[listing]") {
    auto bad = nar_listing(as_bytes("not a nar"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == ErrorCode::invalid_nar);

    Bytes nar = read_golden_nar("tree");
    auto truncated = nar_listing(ByteView(nar).first(nar.size() - 8));
    REQUIRE_FALSE(truncated.ok());
    CHECK_THAT(truncated.error().detail, Contains("truncated"));

    NarListingBuilder builder;
    CHECK_FALSE(builder.finish().ok());
}

TEST_CASE("listing builder refuses events that are not one tree", "[listing]") {
    NarEvent end_directory;
    end_directory.type = NarEventType::end_directory;
    NarEvent symlink;
    symlink.type = NarEventType::symlink;
    symlink.target = "t";

    NarListingBuilder builder;
    CHECK(builder.add(end_directory).error().code == ErrorCode::invalid_argument);
    REQUIRE_OK(builder.add(symlink));
    CHECK(builder.add(symlink).error().code == ErrorCode::invalid_argument);
    REQUIRE_OK(builder.finish());
    CHECK_FALSE(builder.finish().ok());
    CHECK_FALSE(builder.add(symlink).ok());
}

TEST_CASE("listing memory grows with entries, not with file sizes", "[listing]") {
    // 64 MiB of contents fed in 1 MiB slices of one reused buffer: the listing
    // is a few dozen bytes and nothing holds the contents.
    constexpr std::uint64_t size = std::uint64_t{64} << 20;
    Bytes header =
        RawNar{}.strs({"nix-archive-1", "(", "type", "regular", "contents"}).u64(size).bytes;
    Bytes footer = RawNar{}.str(")").bytes;
    Bytes slice(1 << 20, 0xab);

    NarParser parser;
    NarListingBuilder builder;
    auto add = [&](const NarEvent& event) { return builder.add(event); };
    REQUIRE_OK(for_each_nar_event(parser, header, add));
    for (std::uint64_t sent = 0; sent < size; sent += slice.size())
        REQUIRE_OK(for_each_nar_event(parser, slice, add));
    REQUIRE_OK(for_each_nar_event(parser, footer, add));
    REQUIRE_OK(parser.finish());
    auto listing = builder.finish();
    REQUIRE_OK(listing);
    CHECK(*listing == R"({"version":1,"root":{"type":"regular","size":67108864,"narOffset":96}})");
}

TEST_CASE("listings match Nix's for the paths of the shared Nix-made cache", "[listing]") {
    // tests/data/nixcache: built derivations with references, made by tests/nix/make-nix-cache.sh.
    const auto cache = data_dir() / "nixcache";
    const auto listings = files_with_suffix(cache / "cache", ".ls");
    REQUIRE(listings.size() >= 6);
    for (const auto& listing : listings) {
        INFO(listing.string());
        const auto hash = listing.stem().string();
        CHECK(listing_of(to_bytes(read_file(cache / "nars" / (hash + ".nar")))) ==
              read_file(listing));
    }
}
