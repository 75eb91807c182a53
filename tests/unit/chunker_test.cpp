#include "nixedge/chunker.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/sha256.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

using namespace nixedge;

namespace {

// Small parameters keep most tests fast while exercising every region.
const ChunkerParams small_params{1024, 4096, 16384};

// Deterministic test data: splitmix64 output, independent of the chunker's table.
Bytes pseudo_random_bytes(std::uint64_t size, std::uint64_t seed) {
    Bytes out(size);
    std::uint64_t state = seed;
    for (std::uint64_t i = 0; i < size; i += 8) {
        state += 0x9e3779b97f4a7c15;
        std::uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
        z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
        z ^= z >> 31;
        for (std::uint64_t k = 0; k < 8 && i + k < size; ++k)
            out[i + k] = static_cast<std::uint8_t>(z >> (8 * k));
    }
    return out;
}

struct ChunkInfo {
    std::uint64_t length;
    std::string sha256_hex;
    bool operator==(const ChunkInfo&) const = default;
};

// Feeds `data` in slices whose lengths come from `next_slice` and records the chunks.
std::vector<ChunkInfo> chunk_sliced(ByteView data, const ChunkerParams& params,
                                    const std::function<std::uint64_t()>& next_slice) {
    auto chunker = Chunker::create(params);
    REQUIRE(chunker.ok());
    std::vector<ChunkInfo> chunks;
    auto record = [&](ByteView chunk) {
        REQUIRE(chunk.size() <= params.max_size);
        chunks.push_back({chunk.size(), encoding::to_hex(Sha256::digest(chunk))});
    };
    std::uint64_t offset = 0;
    while (offset < data.size()) {
        std::uint64_t length = std::min<std::uint64_t>(next_slice(), data.size() - offset);
        chunker->feed(data.subspan(offset, length), record);
        REQUIRE(chunker->buffered() < params.max_size);
        offset += length;
    }
    chunker->finish(record);
    REQUIRE(chunker->buffered() == 0);
    return chunks;
}

std::vector<ChunkInfo> chunk_whole(ByteView data, const ChunkerParams& params) {
    return chunk_sliced(data, params, [&] { return std::uint64_t{data.size()}; });
}

std::vector<std::uint64_t> lengths_of(const std::vector<ChunkInfo>& chunks) {
    std::vector<std::uint64_t> lengths;
    for (const auto& c : chunks)
        lengths.push_back(c.length);
    return lengths;
}

std::uint64_t total_length(const std::vector<ChunkInfo>& chunks) {
    std::uint64_t total = 0;
    for (const auto& c : chunks)
        total += c.length;
    return total;
}

} // namespace

TEST_CASE("chunker parameters are validated", "[chunker]") {
    CHECK(validate_chunker_params(ChunkerParams{}).ok());
    CHECK(validate_chunker_params(small_params).ok());
    CHECK(validate_chunker_params({64, 256, 257}).ok());
    CHECK(validate_chunker_params({100 * 1024, 1 << 20, 3 << 20}).ok()); // min/max need not be 2^k
    auto rejected = [](ChunkerParams p) {
        auto r = validate_chunker_params(p);
        return !r.ok() && r.error().code == ErrorCode::invalid_argument;
    };
    CHECK(rejected({1024, 3000, 16384}));             // avg not a power of two
    CHECK(rejected({1024, 4096, 4096}));              // avg == max
    CHECK(rejected({4096, 4096, 16384}));             // min == avg
    CHECK(rejected({8192, 4096, 16384}));             // min > avg
    CHECK(rejected({32, 128, 1024}));                 // min below the hash window
    CHECK(rejected({16, 64, 1024}));                  // avg too small
    CHECK(rejected({1024, 1 << 20, (64 << 20) + 1})); // max above the memory cap
    CHECK(rejected({1024, std::uint64_t{1} << 27, std::uint64_t{1} << 28})); // avg too large
    CHECK_FALSE(Chunker::create({1024, 3000, 16384}).ok());
}

TEST_CASE("empty input gives zero chunks", "[chunker]") {
    CHECK(chunk_whole({}, small_params).empty());
    auto chunker = Chunker::create(small_params);
    REQUIRE(chunker.ok());
    ByteView empty;
    CHECK_FALSE(chunker->next(empty).has_value());
    CHECK_FALSE(chunker->finish().has_value());
}

TEST_CASE("input shorter than min is one chunk", "[chunker]") {
    for (std::uint64_t size : {1u, 100u, 1023u, 1024u}) {
        Bytes data = pseudo_random_bytes(size, size);
        auto chunks = chunk_whole(data, small_params);
        REQUIRE(chunks.size() == 1);
        CHECK(chunks[0].length == size);
        CHECK(chunks[0].sha256_hex == encoding::to_hex(Sha256::digest(data)));
    }
}

TEST_CASE("data with no natural cut is cut at exactly max", "[chunker]") {
    // A constant byte drives the gear hash to a fixed point that matches no mask.
    const std::uint64_t max = small_params.max_size;
    auto zero_chunks = [&](std::uint64_t size) {
        return lengths_of(chunk_whole(Bytes(size, 0), small_params));
    };
    using L = std::vector<std::uint64_t>;
    CHECK(zero_chunks(max - 1) == L{max - 1});
    CHECK(zero_chunks(max) == L{max});
    CHECK(zero_chunks(max + 1) == L{max, 1});
    CHECK(zero_chunks(3 * max) == L{max, max, max});

    // The same at the default parameters, one byte at a time across the max boundary.
    const ChunkerParams defaults;
    for (std::uint64_t size : {defaults.max_size - 1, defaults.max_size, defaults.max_size + 1}) {
        Bytes data(size, 0);
        auto chunks = chunk_whole(data, defaults);
        REQUIRE(!chunks.empty());
        CHECK(chunks[0].length == std::min(size, defaults.max_size));
        CHECK(total_length(chunks) == size);
        CHECK(chunks == chunk_sliced(data, defaults, [] { return std::uint64_t{65536}; }));
    }
}

TEST_CASE("boundaries do not depend on how the input is sliced", "[chunker]") {
    Bytes data = pseudo_random_bytes(1 << 20, 42);
    // Some long runs without a natural cut, so forced cuts at max appear too.
    std::fill(data.begin() + 300000, data.begin() + 340000, std::uint8_t{7});
    auto expected = chunk_whole(data, small_params);
    REQUIRE(expected.size() > 100);
    CHECK(total_length(expected) == data.size());

    SECTION("one byte at a time") {
        CHECK(chunk_sliced(data, small_params, [] { return std::uint64_t{1}; }) == expected);
    }
    SECTION("random slices") {
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            std::uint64_t state = seed;
            std::uint64_t limit = seed % 2 == 0 ? 64 : 3 * small_params.max_size;
            auto next_slice = [&] {
                state = state * 6364136223846793005 + 1442695040888963407;
                return (state >> 33) % limit;
            };
            CHECK(chunk_sliced(data, small_params, next_slice) == expected);
        }
    }
    SECTION("slices at every size around the parameters") {
        for (std::uint64_t slice :
             {small_params.min_size - 1, small_params.min_size, small_params.min_size + 1,
              small_params.avg_size, small_params.max_size - 1, small_params.max_size,
              small_params.max_size + 1}) {
            CHECK(chunk_sliced(data, small_params, [&] { return slice; }) == expected);
        }
    }
}

TEST_CASE("whole-buffer input is cut without copying", "[chunker]") {
    Bytes data = pseudo_random_bytes(256 * 1024, 9);
    auto chunker = Chunker::create(small_params);
    REQUIRE(chunker.ok());
    ByteView input = data;
    std::uint64_t offset = 0;
    while (auto chunk = chunker->next(input)) {
        CHECK(chunk->data() == data.data() + offset); // a view into the caller's bytes
        offset += chunk->size();
    }
    CHECK(chunker->buffered() == data.size() - offset);
    auto last = chunker->finish();
    REQUIRE(last.has_value());
    CHECK(offset + last->size() == data.size());
    CHECK(
        std::equal(last->begin(), last->end(), data.begin() + static_cast<std::ptrdiff_t>(offset)));
}

TEST_CASE("chunk sizes stay within min and max and average near avg", "[chunker]") {
    auto check_stats = [](const ChunkerParams& params, std::uint64_t size) {
        Bytes data = pseudo_random_bytes(size, params.avg_size);
        auto chunks = chunk_whole(data, params);
        REQUIRE(chunks.size() > 1);
        for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
            CHECK(chunks[i].length > params.min_size);
            CHECK(chunks[i].length <= params.max_size);
        }
        double mean = static_cast<double>(size) / static_cast<double>(chunks.size());
        INFO("chunks: " << chunks.size() << ", mean size: " << mean);
        CHECK(mean > 0.8 * static_cast<double>(params.avg_size));
        CHECK(mean < 1.4 * static_cast<double>(params.avg_size));
    };
    check_stats(small_params, 32 << 20);
    check_stats({16 * 1024, 64 * 1024, 256 * 1024}, 64 << 20);
    check_stats(ChunkerParams{}, 128 << 20);
}

TEST_CASE("inserting bytes only changes nearby chunks", "[chunker]") {
    Bytes original = pseudo_random_bytes(4 << 20, 1234);
    Bytes edited = original;
    Bytes insertion = pseudo_random_bytes(100, 99);
    edited.insert(edited.begin() + (2 << 20), insertion.begin(), insertion.end());

    auto before = chunk_whole(original, small_params);
    auto after = chunk_whole(edited, small_params);
    std::set<std::string> before_hashes;
    for (const auto& c : before)
        before_hashes.insert(c.sha256_hex);
    std::size_t new_chunks = 0;
    for (const auto& c : after)
        new_chunks += before_hashes.count(c.sha256_hex) == 0;
    INFO("chunks: " << before.size() << ", new after the insertion: " << new_chunks);
    CHECK(before.size() > 500);
    CHECK(new_chunks >= 1);
    CHECK(new_chunks <= 3);
}

// Golden values: chunk boundaries are stored forever. If this test fails, the
// chunking algorithm changed, which would re-chunk (and re-store) every NAR.
TEST_CASE("chunk boundaries match the committed golden values", "[chunker]") {
    Bytes data = pseudo_random_bytes(8 << 20, 0x600d5eed);
    auto chunks = chunk_whole(data, ChunkerParams{});
    std::vector<std::uint64_t> golden_lengths{1298003, 2320076, 1248476, 1415507, 1768551, 337995};
    CHECK(lengths_of(chunks) == golden_lengths);
    CHECK(chunks.front().sha256_hex ==
          "145eda43b651a75d21897a25fc32cbf6d45cd66df7c8b1fdcfff0289a293b236");

    // Many more boundaries at small parameters: a digest over all of them.
    auto small = chunk_whole(data, small_params);
    Sha256 summary;
    for (const auto& c : small)
        summary.update(as_bytes(std::to_string(c.length) + " " + c.sha256_hex + "\n"));
    CHECK(small.size() == 1802);
    CHECK(encoding::to_hex(summary.finish()) ==
          "46633d9ecfdeb3f9fa8d7224fd99c7ccdf2042f6b727415406f76eaac68f6edc");
}
