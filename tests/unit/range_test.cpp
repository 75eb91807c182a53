#include "nixedge/chunker.hpp"
#include "nixedge/range.hpp"
#include "nixedge/zstd_frames.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace nixedge;

namespace {

// What parse_range_header decided, in one comparable value.
struct Answer {
    enum Kind { whole_body, partial_body, unsatisfiable } kind;
    ByteRange range{};
    bool operator==(const Answer&) const = default;
};

Answer answer(std::string_view header, std::uint64_t total) {
    auto parsed = parse_range_header(header, total);
    if (!parsed) {
        REQUIRE(parsed.error().code == ErrorCode::range_not_satisfiable);
        return {Answer::unsatisfiable};
    }
    if (!parsed->has_value())
        return {Answer::whole_body};
    auto range = **parsed;
    REQUIRE(range.first <= range.last);
    REQUIRE(range.last < total);
    return {Answer::partial_body, range};
}

Answer whole() {
    return {Answer::whole_body};
}
Answer unsatisfiable() {
    return {Answer::unsatisfiable};
}
Answer bytes(std::uint64_t first, std::uint64_t last) {
    return {Answer::partial_body, {first, last}};
}

ChunkManifest manifest_with_stored_sizes(const std::vector<std::uint64_t>& stored_sizes) {
    ChunkManifest m;
    for (std::size_t i = 0; i < stored_sizes.size(); ++i) {
        Sha256Digest hash{};
        hash[0] = static_cast<std::uint8_t>(i);
        m.chunks.push_back({hash, 100, stored_sizes[i]});
        m.nar_size += 100;
    }
    return m;
}

} // namespace

namespace Catch {
template <> struct StringMaker<Answer> {
    static std::string convert(const Answer& a) {
        if (a.kind == Answer::whole_body)
            return "200 whole body";
        if (a.kind == Answer::unsatisfiable)
            return "416";
        return "206 " + std::to_string(a.range.first) + "-" + std::to_string(a.range.last);
    }
};
} // namespace Catch

TEST_CASE("single byte ranges follow RFC 9110", "[range]") {
    CHECK(answer("bytes=0-499", 1000) == bytes(0, 499));
    CHECK(answer("bytes=500-999", 1000) == bytes(500, 999));
    CHECK(answer("bytes=500-", 1000) == bytes(500, 999));
    CHECK(answer("bytes=-500", 1000) == bytes(500, 999));
    CHECK(answer("bytes=0-", 1000) == bytes(0, 999));
    CHECK(answer("bytes=0-0", 1000) == bytes(0, 0));
    CHECK(answer("bytes=999-999", 1000) == bytes(999, 999));
    CHECK(answer("bytes=999-", 1000) == bytes(999, 999));
    CHECK(answer("bytes=-1", 1000) == bytes(999, 999));
    CHECK(answer("bytes=-1000", 1000) == bytes(0, 999));
    CHECK(answer("Bytes=1-2", 1000) == bytes(1, 2)); // range units are case-insensitive
    CHECK(answer("BYTES=1-2", 1000) == bytes(1, 2));
    CHECK(answer(" bytes=1-2\t", 1000) == bytes(1, 2));
    CHECK(answer("bytes= 1-2 ", 1000) == bytes(1, 2));
    CHECK(answer("bytes=,1-2,", 1000) == bytes(1, 2)); // empty list elements are ignored
}

TEST_CASE("a last byte past the end is clamped, a first byte past it is 416", "[range]") {
    CHECK(answer("bytes=900-5000", 1000) == bytes(900, 999));
    CHECK(answer("bytes=0-1000", 1000) == bytes(0, 999));
    CHECK(answer("bytes=-5000", 1000) == bytes(0, 999));
    CHECK(answer("bytes=1000-", 1000) == unsatisfiable());
    CHECK(answer("bytes=1000-1000", 1000) == unsatisfiable());
    CHECK(answer("bytes=5000-6000", 1000) == unsatisfiable());
    CHECK(answer("bytes=-0", 1000) == unsatisfiable());
    CHECK(answer("bytes=99999999999999999999999-", 1000) == unsatisfiable());
    CHECK(answer("bytes=0-99999999999999999999999", 1000) == bytes(0, 999));
    CHECK(answer("bytes=-99999999999999999999999", 1000) == bytes(0, 999));
    CHECK(answer("bytes=18446744073709551615-", 1000) == unsatisfiable());
}

TEST_CASE("no range of an empty body is satisfiable", "[range]") {
    CHECK(answer("bytes=0-", 0) == unsatisfiable());
    CHECK(answer("bytes=0-0", 0) == unsatisfiable());
    CHECK(answer("bytes=-1", 0) == unsatisfiable());
    CHECK(answer("bytes=-0", 0) == unsatisfiable());
    CHECK(answer("bytes=5-1", 0) == whole()); // invalid still means ignored
}

TEST_CASE("one-byte and huge bodies", "[range]") {
    CHECK(answer("bytes=0-", 1) == bytes(0, 0));
    CHECK(answer("bytes=0-5", 1) == bytes(0, 0));
    CHECK(answer("bytes=-5", 1) == bytes(0, 0));
    CHECK(answer("bytes=1-", 1) == unsatisfiable());
    const std::uint64_t huge = std::uint64_t{5} << 40; // NARs can exceed 4 GiB
    CHECK(answer("bytes=4294967296-", huge) == bytes(4294967296, huge - 1));
    CHECK(answer("bytes=-1", huge) == bytes(huge - 1, huge - 1));
    const std::uint64_t max = ~std::uint64_t{0};
    CHECK(answer("bytes=18446744073709551614-", max) == bytes(max - 1, max - 1));
}

TEST_CASE("malformed, foreign-unit and multiple ranges are ignored", "[range]") {
    for (std::string_view header : {"",
                                    "bytes",
                                    "bytes=",
                                    "bytes=-",
                                    "bytes=5-4",
                                    "bytes=a-b",
                                    "bytes=1-2-3",
                                    "bytes=+1-2",
                                    "bytes=0x10-",
                                    "bytes=1 -2",
                                    "bytes=1.5-2",
                                    "bytes 0-5",
                                    "bytes=,",
                                    "items=0-5",
                                    "byte=0-5",
                                    "bytes=0-1,5-6",
                                    "bytes=0-1, 5-6",
                                    "bytes=0-1,0-1",
                                    "bytes=0-1,-1",
                                    "bytes=0-1,x"}) {
        INFO("Range: " << header);
        CHECK(answer(header, 1000) == whole());
    }
}

TEST_CASE("Content-Range values", "[range]") {
    CHECK(content_range({0, 499}, 1000) == "bytes 0-499/1000");
    CHECK(content_range({999, 999}, 1000) == "bytes 999-999/1000");
    CHECK(content_range_unsatisfied(1000) == "bytes */1000");
    CHECK(content_range_unsatisfied(0) == "bytes */0");
    CHECK(ByteRange{10, 19}.length() == 10);
}

TEST_CASE("a range maps onto the chunks that hold it, at every boundary", "[range]") {
    const std::vector<std::uint64_t> stored_sizes{10, 1, 5, 20, 1, 1, 3};
    auto manifest = manifest_with_stored_sizes(stored_sizes);
    const std::uint64_t total = manifest.stored_size();
    REQUIRE(total == 41);
    // Byte k of the concatenated frames, labelled (chunk index, offset within it).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> labels;
    for (std::uint64_t i = 0; i < stored_sizes.size(); ++i)
        for (std::uint64_t offset = 0; offset < stored_sizes[i]; ++offset)
            labels.emplace_back(i, offset);

    for (std::uint64_t first = 0; first < total; ++first) {
        for (std::uint64_t last = first; last < total; ++last) {
            INFO("range " << first << "-" << last);
            auto span = plan_chunk_span(manifest, {first, last});
            REQUIRE(span.ok());
            CHECK(span->first_chunk == labels[first].first);
            CHECK(span->first_offset == labels[first].second);
            CHECK(span->last_chunk == labels[last].first);
            CHECK(span->last_end == labels[last].second + 1);
            // Slicing the span's chunks gives back exactly the range's bytes.
            std::vector<std::pair<std::uint64_t, std::uint64_t>> sent;
            for (std::uint64_t i = span->first_chunk; i <= span->last_chunk; ++i) {
                auto slice = span->slice(i, stored_sizes[i]);
                REQUIRE(slice.begin < slice.end);
                for (std::uint64_t offset = slice.begin; offset < slice.end; ++offset)
                    sent.emplace_back(i, offset);
            }
            CHECK(sent == std::vector(labels.begin() + static_cast<std::ptrdiff_t>(first),
                                      labels.begin() + static_cast<std::ptrdiff_t>(last) + 1));
        }
    }
}

TEST_CASE("whole-body and single-chunk spans", "[range]") {
    auto manifest = manifest_with_stored_sizes({10, 20, 30});
    auto whole_span = plan_chunk_span(manifest, {0, 59});
    REQUIRE(whole_span.ok());
    CHECK(*whole_span == ChunkSpan{0, 0, 2, 30});
    CHECK(whole_span->chunk_count() == 3);
    CHECK(whole_span->slice(1, 20) == ByteSlice{0, 20});

    auto inside_one = plan_chunk_span(manifest, {12, 15});
    REQUIRE(inside_one.ok());
    CHECK(*inside_one == ChunkSpan{1, 2, 1, 6});
    CHECK(inside_one->chunk_count() == 1);
    CHECK(inside_one->slice(1, 20) == ByteSlice{2, 6});

    auto single = manifest_with_stored_sizes({7});
    CHECK(*plan_chunk_span(single, {0, 6}) == ChunkSpan{0, 0, 0, 7});
    CHECK(*plan_chunk_span(single, {6, 6}) == ChunkSpan{0, 6, 0, 7});
}

TEST_CASE("ranges outside the stored bytes are refused", "[range]") {
    auto manifest = manifest_with_stored_sizes({10, 20});
    CHECK(plan_chunk_span(manifest, {0, 30}).error().code == ErrorCode::invalid_argument);
    CHECK(plan_chunk_span(manifest, {30, 30}).error().code == ErrorCode::invalid_argument);
    CHECK(plan_chunk_span(manifest, {5, 4}).error().code == ErrorCode::invalid_argument);
    CHECK(plan_chunk_span(ChunkManifest{}, {0, 0}).error().code == ErrorCode::invalid_argument);
}

TEST_CASE("a Range header becomes a chunk span", "[range]") {
    auto manifest = manifest_with_stored_sizes({1000, 2000, 3000});
    const std::uint64_t total = manifest.stored_size();
    auto plan = [&](std::string_view header) {
        auto parsed = parse_range_header(header, total);
        REQUIRE(parsed.ok());
        REQUIRE(parsed->has_value());
        auto span = plan_chunk_span(manifest, **parsed);
        REQUIRE(span.ok());
        return *span;
    };
    CHECK(plan("bytes=0-") == ChunkSpan{0, 0, 2, 3000});
    CHECK(plan("bytes=1000-") == ChunkSpan{1, 0, 2, 3000}); // resuming at a chunk boundary
    CHECK(plan("bytes=999-1000") == ChunkSpan{0, 999, 1, 1});
    CHECK(plan("bytes=-1") == ChunkSpan{2, 2999, 2, 3000});
    CHECK(plan("bytes=2999-2999") == ChunkSpan{1, 1999, 1, 2000});
    CHECK(plan("bytes=3000-3000") == ChunkSpan{2, 0, 2, 1});
    CHECK(plan("bytes=0-999999") == ChunkSpan{0, 0, 2, 3000});
}

// The path a NAR takes: chunked and compressed in the lab, described by a
// manifest, then served whole or by range from the chunk objects at the edge.
TEST_CASE("chunks, frames, manifest and ranges fit together", "[range]") {
    Bytes nar(300000);
    std::uint64_t state = 77;
    for (auto& byte : nar) {
        state = state * 6364136223846793005 + 1442695040888963407;
        byte = static_cast<std::uint8_t>((state >> 59) == 0 ? state >> 40 : 'a' + (state >> 62));
    }
    auto chunker = Chunker::create({1024, 4096, 16384});
    auto compressor = ZstdCompressor::create();
    REQUIRE((chunker.ok() && compressor.ok()));
    ChunkManifest manifest;
    manifest.nar_hash = Sha256::digest(nar);
    manifest.nar_size = nar.size();
    std::vector<Bytes> objects; // chunks/<hash>, by manifest index
    auto store = [&](ByteView chunk) {
        Bytes frame;
        REQUIRE(compressor->compress_frame(chunk, frame).ok());
        manifest.chunks.push_back({Sha256::digest(chunk), chunk.size(), frame.size()});
        objects.push_back(std::move(frame));
    };
    chunker->feed(nar, store);
    chunker->finish(store);
    REQUIRE(manifest.chunks.size() > 20);

    auto encoded = encode_manifest(manifest);
    REQUIRE(encoded.ok());
    auto served = decode_manifest(*encoded);
    REQUIRE(served.ok());
    Bytes body; // the whole .nar.zst
    for (const auto& object : objects)
        body.insert(body.end(), object.begin(), object.end());
    REQUIRE(body.size() == served->stored_size());

    auto decompressor = ZstdDecompressor::create();
    REQUIRE(decompressor.ok());
    Bytes decoded;
    REQUIRE(decompressor
                ->feed(body, [&](ByteView p) { decoded.insert(decoded.end(), p.begin(), p.end()); })
                .ok());
    REQUIRE(decompressor->finish().ok());
    CHECK(Sha256::digest(decoded) == served->nar_hash);

    for (std::uint64_t first = 0; first < body.size(); first += 997) {
        for (std::uint64_t length :
             {std::uint64_t{1}, std::uint64_t{5000}, std::uint64_t{body.size()}}) {
            std::string header =
                "bytes=" + std::to_string(first) + "-" + std::to_string(first + length - 1);
            auto range = parse_range_header(header, body.size());
            REQUIRE(range.ok());
            REQUIRE(range->has_value());
            auto span = plan_chunk_span(*served, **range);
            REQUIRE(span.ok());
            Bytes sent;
            for (std::uint64_t i = span->first_chunk; i <= span->last_chunk; ++i) {
                auto slice = span->slice(i, objects[i].size());
                sent.insert(sent.end(),
                            objects[i].begin() + static_cast<std::ptrdiff_t>(slice.begin),
                            objects[i].begin() + static_cast<std::ptrdiff_t>(slice.end));
            }
            INFO(header);
            CHECK(sent == Bytes(body.begin() + static_cast<std::ptrdiff_t>((*range)->first),
                                body.begin() + static_cast<std::ptrdiff_t>((*range)->last) + 1));
        }
    }
}
