// Vectors of the edge operations added for serving NARs: manifests, Range
// planning, store paths, cache names, NAR URLs and bucket keys.
#include "vectors.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/encoding.hpp"
#include "nixedge/manifest.hpp"
#include "nixedge/sha256.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace nixedge::test {

namespace {

Sha256Digest digest_of(std::string_view text) {
    return Sha256::digest(as_bytes(text));
}

// A valid manifest whose chunks have these stored sizes (raw sizes derived).
ChunkManifest manifest_with(const std::vector<std::uint64_t>& stored_sizes) {
    ChunkManifest m;
    m.nar_hash = digest_of("nar" + std::to_string(stored_sizes.size()));
    for (std::size_t i = 0; i < stored_sizes.size(); ++i) {
        std::uint64_t raw = std::min(stored_sizes[i] * 3 / 2 + 1, max_manifest_chunk_size);
        m.chunks.push_back({digest_of("chunk" + std::to_string(i % 5)), raw, stored_sizes[i]});
        m.nar_size += raw;
    }
    return m;
}

std::string encode(const ChunkManifest& m) {
    auto text = encode_manifest(m);
    if (!text) {
        std::cerr << "vectors: cannot encode a test manifest: " << text.error().detail << "\n";
        std::exit(1);
    }
    return *text;
}

// Several chunks, small stored sizes (1-byte chunks among them).
const std::vector<std::uint64_t> small_sizes = {100, 1, 50, 1000, 7};
// Stored sizes near the 2^30 limit: offsets past 2^32 (64-bit arithmetic on wasm32).
const std::vector<std::uint64_t> huge_sizes = {(1u << 30) - 3, 1u << 30, 1u << 30,
                                               (1u << 30) - 1, 1u << 30, 5};

} // namespace

void manifest_vectors(Vectors& v) {
    const std::vector<std::pair<std::string, std::vector<std::uint64_t>>> valid = {
        {"0-chunks", {}},           {"1-chunk", {4242}},
        {"1-byte-chunk", {1}},      {"small", small_sizes},
        {"huge-sizes", huge_sizes}, {"max-chunk-size", {std::uint64_t{1} << 30}},
    };
    for (const auto& [label, sizes] : valid) {
        auto encoded = encode(manifest_with(sizes));
        v.add("manifestDecode/" + label, "manifestDecode", {text(encoded)});
        v.add("manifestName/" + label, "manifestName", {text(encoded)});
    }
    {
        std::vector<std::uint64_t> many;
        for (std::uint64_t i = 0; i < 3000; ++i)
            many.push_back(1 + (i * 7919) % 1048576);
        auto encoded = encode(manifest_with(many));
        v.add("manifestDecode/3000-chunks", "manifestDecode", {text(encoded)});
        v.add("manifestName/3000-chunks", "manifestName", {text(encoded)});
    }
    // The documented example (docs/manifest-format.md): a chunk appears twice.
    const std::string example =
        "nixedge-manifest 1\n"
        "nar-hash sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq\n"
        "nar-size 1048883\n"
        "chunk ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb 300 120\n"
        "chunk 3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d 1048576 400000\n"
        "chunk ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb 7 16\n";
    v.add("manifestDecode/doc-example", "manifestDecode", {text(example)});

    // The chunk-count limit, exactly at and one past it (one chunk line repeated).
    const std::string hash_text =
        "nixedge-manifest 1\nnar-hash sha256:" + encoding::to_nix32(digest_of("n")) + "\n";
    const std::string chunk_line = "chunk " + encoding::to_hex(digest_of("c")) + " 3 2\n";
    for (std::uint64_t count : {max_manifest_chunks, max_manifest_chunks + 1}) {
        auto head = hash_text + "nar-size " + std::to_string(3 * count) + "\n";
        v.add("manifestDecode/chunks-" + std::to_string(count), "manifestDecode",
              {Repeat{to_bytes(head), to_bytes(chunk_line), count, {}}});
    }
    v.add("manifestDecode/over-16MiB", "manifestDecode",
          {Repeat{to_bytes(hash_text),
                  to_bytes(chunk_line),
                  max_manifest_bytes / chunk_line.size() + 1,
                  {}}});

    // Malformed: one defect each, on the small manifest's text.
    const std::string good = encode(manifest_with(small_sizes));
    auto replaced = [&](std::string_view from, std::string_view to) {
        auto at = good.find(from);
        if (at == std::string::npos) {
            std::cerr << "vectors: '" << from << "' is not in the test manifest\n";
            std::exit(1);
        }
        return std::string(good).replace(at, from.size(), to);
    };
    const auto nar_size = "nar-size " + std::to_string(manifest_with(small_sizes).nar_size);
    const auto first_chunk = good.substr(good.find("chunk "), good.find('\n', good.find("chunk ")) -
                                                                  good.find("chunk ") + 1);
    const auto first_hash = first_chunk.substr(6, 64);
    std::string crlf;
    for (char c : good)
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    const std::vector<std::pair<std::string, std::string>> malformed = {
        {"empty", ""},
        {"newline-only", "\n"},
        {"version-only", "nixedge-manifest 1\n"},
        {"no-nar-size", hash_text},
        {"magic", replaced("nixedge-manifest", "nixedge-manifesto")},
        {"magic-case", replaced("nixedge-manifest", "Nixedge-manifest")},
        {"version-2", replaced("nixedge-manifest 1", "nixedge-manifest 2")},
        {"version-01", replaced("nixedge-manifest 1", "nixedge-manifest 01")},
        {"version-x", replaced("nixedge-manifest 1", "nixedge-manifest x")},
        {"version-missing", replaced("nixedge-manifest 1", "nixedge-manifest")},
        {"no-final-newline", good.substr(0, good.size() - 1)},
        {"crlf", crlf},
        {"blank-line-end", good + "\n"},
        {"blank-line-middle", replaced(nar_size + "\n", nar_size + "\n\n")},
        {"trailing-space", replaced("nixedge-manifest 1\n", "nixedge-manifest 1 \n")},
        {"double-space", replaced("nar-size ", "nar-size  ")},
        {"tab", replaced("nar-size ", "nar-size\t")},
        {"nar-hash-key", replaced("nar-hash ", "narhash ")},
        {"nar-hash-hex", replaced(good.substr(good.find("sha256:"), 59),
                                  "sha256:" + encoding::to_hex(digest_of("x")).substr(0, 52))},
        {"nar-hash-no-prefix", replaced("sha256:", "")},
        {"nar-hash-sha512", replaced("sha256:", "sha512:")},
        {"nar-hash-short",
         replaced(good.substr(good.find("sha256:"), 59), good.substr(good.find("sha256:"), 58))},
        {"nar-hash-bad-char", replaced(good.substr(good.find("sha256:") + 7, 1), "e")},
        {"nar-hash-overflow", replaced(good.substr(good.find("sha256:") + 7, 1), "z")},
        {"nar-size-leading-zero", replaced(nar_size, "nar-size 0" + nar_size.substr(9))},
        {"nar-size-plus", replaced(nar_size, "nar-size +" + nar_size.substr(9))},
        {"nar-size-negative", replaced(nar_size, "nar-size -1")},
        {"nar-size-overflow", replaced(nar_size, "nar-size 18446744073709551616")},
        {"nar-size-hex", replaced(nar_size, "nar-size 0x10")},
        {"nar-size-too-small", replaced(nar_size, "nar-size 1")},
        {"nar-size-too-large", replaced(nar_size, nar_size + "0")},
        {"fields-swapped", replaced("nar-hash", "nar-size")},
        {"chunk-key", replaced(first_chunk, "Chunk" + first_chunk.substr(5))},
        {"chunk-hash-upper",
         replaced(first_hash, encoding::to_hex(digest_of("chunk0")).substr(0, 63) + "A")},
        {"chunk-hash-short", replaced(first_hash, first_hash.substr(1))},
        {"chunk-hash-long", replaced(first_hash, first_hash + "0")},
        {"chunk-hash-nix32",
         replaced(first_hash, encoding::to_nix32(digest_of("c")) + "000000000000")},
        {"chunk-missing-stored", replaced(first_chunk, "chunk " + first_hash + " 151\n")},
        {"chunk-extra-field",
         replaced(first_chunk, first_chunk.substr(0, first_chunk.size() - 1) + " 9\n")},
        {"chunk-raw-leading-zero", replaced(" 151 100\n", " 0151 100\n")},
        {"chunk-stored-zero", replaced(" 151 100\n", " 151 0\n")},
        {"chunk-raw-zero", replaced(" 151 100\n", " 0 100\n")},
        {"chunk-stored-too-large", replaced(" 151 100\n", " 151 1073741825\n")},
        {"chunk-raw-too-large", replaced(" 151 100\n", " 1073741825 100\n")},
        {"chunk-size-overflow", replaced(" 151 100\n", " 151 18446744073709551617\n")},
        {"chunk-size-negative", replaced(" 151 100\n", " 151 -100\n")},
        {"junk-line", good + "junk\n"},
        {"nul", replaced("nar-size", std::string("nar\0size", 8))},
        {"utf8", replaced("nixedge-manifest", "nixedge-m\xc3\xa4nifest")},
        {"binary", std::string("\x28\xb5\x2f\xfd\x00\x00\xff\xfe\n", 9)},
    };
    for (const auto& [label, t] : malformed) {
        v.add("manifestDecode/malformed-" + label, "manifestDecode", {text(t)});
        if (v.last_status() == 0) {
            std::cerr << "vectors: manifest case " << label << " decodes natively\n";
            std::exit(1);
        }
    }
    v.add("manifestName/malformed-empty", "manifestName", {text("")});
    v.add("manifestName/malformed-crlf", "manifestName", {text(crlf)});
}

void range_vectors(Vectors& v) {
    struct Case {
        std::string label;
        std::vector<std::uint64_t> sizes;
    };
    const std::vector<Case> manifests = {
        {"empty", {}},          {"one-chunk", {4242}}, {"one-byte", {1}},
        {"small", small_sizes}, {"huge", huge_sizes},
    };
    for (const auto& m : manifests) {
        const auto encoded = encode(manifest_with(m.sizes));
        std::uint64_t total = 0;
        std::vector<std::uint64_t> boundaries = {0};
        for (auto s : m.sizes)
            boundaries.push_back(total += s);
        std::vector<std::string> headers = {"", "bytes=0-", "bytes=0-0", "bytes=-1"};
        auto n = [](std::uint64_t x) { return std::to_string(x); };
        // Around every chunk boundary b (a chunk starts at b, the previous one ends at b-1).
        for (auto b : boundaries) {
            for (const std::string& h : std::vector<std::string>{
                     "bytes=" + n(b) + "-", "bytes=" + n(b) + "-" + n(b), "bytes=0-" + n(b),
                     "bytes=-" + n(b), "bytes=-" + n(b + 1)})
                headers.push_back(h);
            if (b > 0)
                for (const std::string& h : std::vector<std::string>{
                         "bytes=" + n(b - 1) + "-", "bytes=" + n(b - 1) + "-" + n(b - 1),
                         "bytes=" + n(b - 1) + "-" + n(b), "bytes=0-" + n(b - 1),
                         "bytes=-" + n(b - 1)})
                    headers.push_back(h);
            if (b > 1)
                headers.push_back("bytes=1-" + n(b - 2));
        }
        // Clamping, unsatisfiable, suffixes.
        for (const std::string& h : std::vector<std::string>{
                 "bytes=0-" + n(total + 1000), "bytes=" + n(total) + "-" + n(total + 5),
                 "bytes=" + n(total + 1) + "-", "bytes=-0", "bytes=-" + n(total + 1000),
                 "bytes=0-18446744073709551615", "bytes=0-99999999999999999999999",
                 "bytes=99999999999999999999999-", "bytes=-99999999999999999999999",
                 "bytes=18446744073709551615-18446744073709551615"})
            headers.push_back(h);
        std::set<std::string> seen;
        for (const auto& h : headers) {
            if (!seen.insert(h).second)
                continue;
            v.add("rangePlan/" + m.label + "/" + (h.empty() ? "no-header" : h), "rangePlan",
                  {text(encoded), text(h)});
        }
    }

    // Header syntax, on the small manifest.
    const auto small = encode(manifest_with(small_sizes));
    const std::vector<std::pair<std::string, std::string>> syntax = {
        {"multi-range", "bytes=0-1,5-6"},
        {"multi-range-overlap", "bytes=0-10,5-6"},
        {"multi-range-one-unsatisfiable", "bytes=0-1,99999-"},
        {"trailing-comma", "bytes=0-1,"},
        {"empty-elements", "bytes=, ,0-1,,"},
        {"case-insensitive-unit", "BYTES=2-3"},
        {"mixed-case-unit", "ByTeS=2-3"},
        {"ows-around", " \tbytes=2-3\t "},
        {"ows-in-list", "bytes= 2-3 "},
        {"space-before-equals", "bytes =2-3"},
        {"space-in-spec", "bytes=2 -3"},
        {"other-unit", "items=0-1"},
        {"no-equals", "bytes"},
        {"no-spec", "bytes="},
        {"dash-only", "bytes=-"},
        {"reversed", "bytes=5-1"},
        {"letters", "bytes=a-b"},
        {"plus", "bytes=+1-2"},
        {"negative", "bytes=-1-2"},
        {"double-dash", "bytes=1--2"},
        {"hex", "bytes=0x10-0x20"},
        {"decimal-point", "bytes=1.0-2"},
        {"leading-zeros", "bytes=0001-0002"},
        {"nul", std::string("bytes=1-2\0", 10)},
        {"newline", "bytes=1-2\n"},
        {"utf8", "bytes=\xef\xbc\x91-2"},
        {"latin1", "bytes=1-2\xff"},
        {"garbage", "\x01\x02\x03"},
        {"long", "bytes=" + std::string(5000, '1') + "-"},
    };
    for (const auto& [label, h] : syntax)
        v.add("rangePlan/syntax-" + label, "rangePlan", {text(small), text(h)});
    // A malformed manifest is the one error.
    v.add("rangePlan/malformed-manifest", "rangePlan", {text("nixedge-manifest 1\n"), text("")});
    v.add("rangePlan/malformed-manifest-with-range", "rangePlan",
          {text(small.substr(0, small.size() - 1)), text("bytes=0-1")});
}

void edge_name_vectors(Vectors& v) {
    const std::string hash = "z1x7778cix14wkf9vyvv4cb11626crip";
    const std::string store = "/nix/store/";
    const std::vector<std::pair<std::string, std::string>> paths = {
        {"valid", store + hash + "-nixedge-dep"},
        {"valid-charset", store + hash + "-aZ09+-._?="},
        {"valid-dots-inside", store + hash + "-a..b"},
        {"valid-drv", store + hash + "-foo-1.0.drv"},
        {"valid-all-zero-hash", store + std::string(32, '0') + "-x"},
        {"valid-all-z-hash", store + std::string(32, 'z') + "-x"},
        {"valid-name-211", store + hash + "-" + std::string(211, 'n')},
        {"name-212", store + hash + "-" + std::string(212, 'n')},
        {"name-empty", store + hash + "-"},
        {"name-dot", store + hash + "-."},
        {"name-dotdot", store + hash + "-.."},
        {"name-dot-dash", store + hash + "-.-foo"},
        {"name-dotdot-dash", store + hash + "-..-foo"},
        {"name-space", store + hash + "-a b"},
        {"name-slash", store + hash + "-a/b"},
        {"name-utf8", store + hash + "-caf\xc3\xa9"},
        {"name-nul", store + hash + std::string("-a\0b", 4)},
        {"name-percent", store + hash + "-a%20b"},
        {"name-at", store + hash + "-a@b"},
        {"no-dash", store + hash},
        {"hash-31", store + hash.substr(1) + "-x"},
        {"hash-33", store + hash + "0-x"},
        {"hash-e", store + "e" + hash.substr(1) + "-x"},
        {"hash-upper", store + "Z" + hash.substr(1) + "-x"},
        {"hash-t", store + "t" + hash.substr(1) + "-x"},
        {"trailing-slash", store + hash + "-x/"},
        {"subpath", store + hash + "-x/bin/sh"},
        {"base-name-only", hash + "-x"},
        {"store-dir-only", "/nix/store"},
        {"store-dir-slash", store},
        {"other-store", "/gnu/store/" + hash + "-x"},
        {"double-slash", "/nix/store//" + hash + "-x"},
        {"relative", "nix/store/" + hash + "-x"},
        {"empty", ""},
        {"newline", store + hash + "-x\n"},
    };
    for (const auto& [label, p] : paths)
        v.add("storePathParse/" + label, "storePathParse", {text(p)});

    std::vector<std::pair<std::string, std::string>> caches = {
        {"short", "a"},
        {"digit", "0"},
        {"typical", "main"},
        {"mixed", "Lab-cache_2"},
        {"len-50", std::string(50, 'c')},
        {"len-51", std::string(51, 'c')},
        {"empty", ""},
        {"leading-dash", "-a"},
        {"leading-underscore", "_a"},
        {"dot", "a.b"},
        {"slash", "a/b"},
        {"space", "a b"},
        {"utf8", "caf\xc3\xa9"},
        {"nul", std::string("a\0", 2)},
        {"upper-reserved", "NAR"},
        {"reserved-prefix", "narx"},
    };
    for (std::string reserved : {"nar", "_api", "api", "metrics", "healthz", "readyz", "sync",
                                 "chunks", "manifests", "nix-cache-info", "nixedge-layout", "admin",
                                 "static", "favicon.ico", "robots.txt", "well-known", "login"})
        caches.emplace_back("reserved-" + reserved, reserved);
    for (const auto& [label, c] : caches)
        v.add("cacheNameValidate/" + label, "cacheNameValidate", {text(c)});

    const std::string hex = encoding::to_hex(digest_of("manifest"));
    std::string upper = hex;
    upper[0] = 'A';
    upper[upper.find_first_of("abcdef")] = 'B';
    const std::vector<std::pair<std::string, std::string>> urls = {
        {"valid", "nar/" + hex + ".nar.zst"},
        {"valid-zero", "nar/" + std::string(64, '0') + ".nar.zst"},
        {"upper", "nar/" + upper + ".nar.zst"},
        {"hex-63", "nar/" + hex.substr(1) + ".nar.zst"},
        {"hex-65", "nar/" + hex + "0.nar.zst"},
        {"nix32", "nar/" + encoding::to_nix32(digest_of("m")) + ".nar.zst"},
        {"xz", "nar/" + hex + ".nar.xz"},
        {"no-compression", "nar/" + hex + ".nar"},
        {"no-prefix", hex + ".nar.zst"},
        {"leading-slash", "/nar/" + hex + ".nar.zst"},
        {"with-cache", "main/nar/" + hex + ".nar.zst"},
        {"query", "nar/" + hex + ".nar.zst?x=1"},
        {"empty", ""},
        {"nar-only", "nar/"},
    };
    for (const auto& [label, u] : urls)
        v.add("narUrlParse/" + label, "narUrlParse", {text(u)});

    struct Key {
        std::string label, kind, cache, hash;
    };
    const std::vector<Key> keys = {
        {"layout_marker", "layout_marker", "", ""},
        {"sync_plan", "sync_plan", "", ""},
        {"sync_status", "sync_status", "", ""},
        {"chunk", "chunk", "", hex},
        {"manifest", "manifest", "", hex},
        {"nix_cache_info", "nix_cache_info", "main", ""},
        {"narinfo", "narinfo", "main", hash},
        {"listing", "listing", "Lab-cache_2", hash},
        {"unknown-kind", "narinfos", "main", hash},
        {"empty-kind", "", "", ""},
        {"kind-case", "Chunk", "", hex},
        {"kind-hyphen", "nix-cache-info", "main", ""},
        {"layout_marker-with-cache", "layout_marker", "main", ""},
        {"sync_plan-with-hash", "sync_plan", "", hex},
        {"chunk-with-cache", "chunk", "main", hex},
        {"chunk-upper", "chunk", "", upper},
        {"chunk-short", "chunk", "", hex.substr(2)},
        {"chunk-empty", "chunk", "", ""},
        {"manifest-nix32", "manifest", "", encoding::to_nix32(digest_of("m"))},
        {"nix_cache_info-with-hash", "nix_cache_info", "main", hash},
        {"nix_cache_info-no-cache", "nix_cache_info", "", ""},
        {"nix_cache_info-reserved", "nix_cache_info", "chunks", ""},
        {"narinfo-bad-cache", "narinfo", "a/b", hash},
        {"narinfo-reserved-cache", "narinfo", "nar", hash},
        {"narinfo-no-cache", "narinfo", "", hash},
        {"narinfo-no-hash", "narinfo", "main", ""},
        {"narinfo-hash-31", "narinfo", "main", hash.substr(1)},
        {"narinfo-hash-e", "narinfo", "main", "e" + hash.substr(1)},
        {"narinfo-hash-traversal", "narinfo", "main", "../../" + hash.substr(6)},
        {"listing-hash-with-name", "listing", "main", hash + "-x"},
    };
    for (const auto& k : keys)
        v.add("bucketKey/" + k.label, "bucketKey", {text(k.kind), text(k.cache), text(k.hash)});
}

} // namespace nixedge::test
