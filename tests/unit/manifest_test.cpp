#include "nixedge/encoding.hpp"
#include "nixedge/manifest.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace nixedge;

namespace {

Sha256Digest digest_of(std::string_view text) {
    return Sha256::digest(as_bytes(text));
}

ChunkManifest sample_manifest() {
    ChunkManifest m;
    m.nar_hash = digest_of("hello\n");
    m.nar_size = 300 + 1048576 + 7;
    m.chunks = {
        {digest_of("a"), 300, 120}, {digest_of("b"), 1048576, 400000}, {digest_of("a"), 7, 16}};
    return m;
}

// The encoding of sample_manifest(), spelled out: the format is a contract.
const std::string sample_text =
    "nixedge-manifest 1\n"
    "nar-hash sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq\n"
    "nar-size 1048883\n"
    "chunk ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb 300 120\n"
    "chunk 3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d 1048576 400000\n"
    "chunk ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb 7 16\n";

std::string replace_once(std::string text, std::string_view from, std::string_view to) {
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

void check_rejected(const std::string& text, std::string_view expected_detail,
                    ErrorCode code = ErrorCode::invalid_manifest) {
    INFO("manifest text: " << text);
    auto decoded = decode_manifest(text);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code == code);
    CHECK_THAT(decoded.error().detail, Catch::Contains(std::string(expected_detail)));
}

} // namespace

TEST_CASE("a manifest encodes to its one canonical text", "[manifest]") {
    auto encoded = encode_manifest(sample_manifest());
    REQUIRE(encoded.ok());
    CHECK(*encoded == sample_text);
    CHECK(manifest_name(*encoded) == encoding::to_hex(Sha256::digest(as_bytes(sample_text))));
    CHECK(manifest_name(*encoded).size() == 64);
    CHECK(manifest_name(as_bytes(*encoded)) == manifest_name(*encoded));
}

TEST_CASE("decode and encode are inverse", "[manifest]") {
    auto decoded = decode_manifest(sample_text);
    REQUIRE(decoded.ok());
    CHECK(*decoded == sample_manifest());
    CHECK(*encode_manifest(*decoded) == sample_text);
    CHECK(decoded->raw_size() == decoded->nar_size);
    CHECK(decoded->stored_size() == 120 + 400000 + 16);
    CHECK(decode_manifest(as_bytes(sample_text)).ok());
}

TEST_CASE("a manifest without chunks describes an empty NAR", "[manifest]") {
    ChunkManifest empty;
    empty.nar_hash = digest_of("");
    auto encoded = encode_manifest(empty);
    REQUIRE(encoded.ok());
    CHECK(*encoded == "nixedge-manifest 1\n"
                      "nar-hash sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73\n"
                      "nar-size 0\n");
    auto decoded = decode_manifest(*encoded);
    REQUIRE(decoded.ok());
    CHECK(*decoded == empty);
    CHECK(decoded->stored_size() == 0);
}

TEST_CASE("encoding refuses an inconsistent manifest", "[manifest]") {
    auto m = sample_manifest();
    m.nar_size += 1;
    CHECK(encode_manifest(m).error().code == ErrorCode::invalid_manifest);
    m = sample_manifest();
    m.chunks[1].stored_size = 0;
    CHECK(encode_manifest(m).error().code == ErrorCode::invalid_manifest);
    m = sample_manifest();
    m.chunks[0].raw_size = 0;
    m.nar_size -= 300;
    CHECK(encode_manifest(m).error().code == ErrorCode::invalid_manifest);
    m = sample_manifest();
    m.chunks[2].stored_size = max_manifest_chunk_size + 1;
    CHECK(encode_manifest(m).error().code == ErrorCode::limit_exceeded);
}

TEST_CASE("unknown versions and foreign files get a clear error", "[manifest]") {
    check_rejected(replace_once(sample_text, "manifest 1\n", "manifest 2\n"),
                   "manifest line 1: unsupported manifest version 2 (this build reads version 1)");
    check_rejected(replace_once(sample_text, "manifest 1\n", "manifest 01\n"),
                   "line 1: malformed manifest version");
    check_rejected(replace_once(sample_text, "manifest 1\n", "manifest 1 \n"),
                   "line 1: malformed manifest version");
    check_rejected("", "not a nixedge manifest");
    check_rejected("StorePath: /nix/store/abc\n", "line 1: not a nixedge manifest");
    check_rejected("nixedge-manifest 1", "line 1: missing final newline");
}

TEST_CASE("non-canonical text is rejected with its line number", "[manifest]") {
    const std::string hash_a = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
    std::vector<std::pair<std::string, std::string>> cases = {
        // header lines
        {replace_once(sample_text, "nar-hash sha256:", "nar-hash sha512:"),
         "line 2: nar-hash must be"},
        {replace_once(sample_text, "sha256:00xyyr3", "sha256:00xyyre"), "line 2: nar-hash must be"},
        {replace_once(sample_text, "sha256:00xyyr3", "sha256:0xyyr3"), "line 2: nar-hash must be"},
        {replace_once(sample_text, "nar-hash ", "nar-hash  "), "line 2: nar-hash must be"},
        {replace_once(sample_text, "nar-hash ", "narhash "),
         "line 2: expected \"nar-hash <value>\""},
        {replace_once(sample_text, "nar-size 1048883", "nar-size 01048883"),
         "line 3: nar-size must be"},
        {replace_once(sample_text, "nar-size 1048883", "nar-size +1048883"),
         "line 3: nar-size must be"},
        {replace_once(sample_text, "nar-size 1048883", "nar-size 99999999999999999999999"),
         "line 3: nar-size must be"},
        {replace_once(sample_text, "nar-size 1048883\n", "nar-size 1048883\r\n"),
         "line 3: nar-size must be"},
        {replace_once(sample_text, "nar-size 1048883\n", ""),
         "line 3: expected \"nar-size <value>\""},
        // chunk lines
        {replace_once(sample_text, "chunk ca97", "chunk CA97"),
         "line 4: chunk hash must be 64 lowercase hex"},
        {replace_once(sample_text, "chunk ca97", "chunk a97"), "line 4: chunk hash must be"},
        {replace_once(sample_text, "chunk ca97", "chunk xa97"), "line 4: chunk hash must be"},
        {replace_once(sample_text, "chunk ca97", "chunk  ca97"), "line 4: malformed chunk line"},
        {replace_once(sample_text, "chunk ca97", "Chunk ca97"), "line 4: expected \"chunk"},
        {replace_once(sample_text, " 1048576 400000", " 1048576  400000"),
         "line 5: chunk sizes must be canonical"},
        {replace_once(sample_text, " 1048576 400000", " 1048576 0400000"),
         "line 5: chunk sizes must be canonical"},
        {replace_once(sample_text, " 1048576 400000", " 1048576 400000 9"),
         "line 5: chunk sizes must be canonical"},
        {replace_once(sample_text, " 1048576 400000", " 1048576"), "line 5: malformed chunk line"},
        {replace_once(sample_text, " 300 120\n", " 300 120 \n"),
         "line 4: chunk sizes must be canonical"},
        {replace_once(sample_text, " 300 120\n", " 300 120\r\n"),
         "line 4: chunk sizes must be canonical"},
        // sizes that do not add up
        {replace_once(sample_text, " 7 16\n", " 8 16\n"),
         "line 6: chunks hold more than nar-size bytes"},
        {replace_once(sample_text, " 7 16\n", " 6 16\n"),
         "chunk sizes add up to 1048882 bytes, but nar-size is 1048883"},
        {replace_once(sample_text, "chunk " + hash_a + " 7 16\n", ""), "but nar-size is 1048883"},
        {replace_once(sample_text, " 7 16\n", " 7 0\n"), "line 6: empty chunk"},
        // structure
        {sample_text + "\n", "line 7: expected \"chunk"},
        {sample_text + "chunk", "line 7: missing final newline"},
        {sample_text.substr(0, sample_text.size() - 1), "line 6: missing final newline"},
        {"nixedge-manifest 1\n", "line 2: unexpected end of manifest"},
        {"nixedge-manifest 1\nnar-size 5\n", "line 2: expected \"nar-hash <value>\""},
    };
    for (const auto& [text, detail] : cases)
        check_rejected(text, detail);
    check_rejected(replace_once(sample_text, " 300 120\n", " 300 1073741825\n"),
                   "line 4: chunk larger than", ErrorCode::limit_exceeded);
}

TEST_CASE("manifest limits are enforced", "[manifest]") {
    ChunkManifest big;
    big.chunks.assign(max_manifest_chunks + 1, ChunkRef{digest_of("x"), 1, 10});
    big.nar_size = big.chunks.size();
    CHECK(encode_manifest(big).error().code == ErrorCode::limit_exceeded);

    // The largest manifest allowed round-trips; one more chunk line is refused.
    big.chunks.pop_back();
    big.nar_size = big.chunks.size();
    auto encoded = encode_manifest(big);
    REQUIRE(encoded.ok());
    auto decoded = decode_manifest(*encoded);
    REQUIRE(decoded.ok());
    CHECK(decoded->chunks.size() == max_manifest_chunks);
    std::string one_more = replace_once(*encoded, "nar-size " + std::to_string(max_manifest_chunks),
                                        "nar-size " + std::to_string(max_manifest_chunks + 1));
    one_more += "chunk " + encoding::to_hex(digest_of("x")) + " 1 10\n";
    auto refused = decode_manifest(one_more);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::limit_exceeded);

    std::string huge(max_manifest_bytes + 1, 'a');
    CHECK(decode_manifest(huge).error().code == ErrorCode::limit_exceeded);
}

TEST_CASE("any one-byte change is rejected or is itself canonical", "[manifest]") {
    // Whatever decodes must re-encode to exactly the bytes given.
    const std::string alphabet = "0123456789abcdefz -:\n\r";
    std::uint64_t accepted = 0;
    for (std::size_t at = 0; at < sample_text.size(); ++at) {
        for (char c : alphabet) {
            std::string changed = sample_text;
            changed[at] = c;
            for (const std::string& text :
                 {changed, sample_text.substr(0, at) + sample_text.substr(at + 1)}) {
                auto decoded = decode_manifest(text);
                if (!decoded)
                    continue;
                ++accepted;
                auto reencoded = encode_manifest(*decoded);
                REQUIRE(reencoded.ok());
                CHECK(*reencoded == text);
            }
        }
    }
    CHECK(accepted > 0); // e.g. another hex digit in a chunk hash is a different, valid manifest
}
