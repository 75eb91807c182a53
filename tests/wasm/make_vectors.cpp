// Writes the native half of the native == wasm comparison: a JSON file of
// inputs for every operation the wasm modules export, each with the outcome of
// the SAME operation (wasm-edge/src/operations_{edge,lab}.cpp) built natively.
// run_vectors.mjs feeds the inputs to a wasm module and compares byte for byte.
// The file format and the shared machinery are in vectors.hpp; this file holds
// the encoding, SHA-256, Ed25519, key and narinfo vectors, vectors_edge.cpp
// and vectors_lab.cpp the rest.
//
// Usage: nixedge-make-vectors OUT.json TEST_DATA_DIR
#include "ed25519_cases.hpp"
#include "vectors.hpp"

#include "nixedge/encoding.hpp"
#include "nixedge/keys.hpp"
#include "nixedge/narinfo.hpp"
#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

using namespace nixedge;
using namespace nixedge::test;

namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
    Bytes out(n);
    for (auto& b : out)
        b = static_cast<std::uint8_t>(rng() >> 24);
    return out;
}

// Lengths around SHA-256's block and padding boundaries and base64/nix32 group sizes.
const std::vector<std::size_t> edge_lengths = {0,  1,  2,   3,   4,   5,   19,  20,
                                               21, 31, 32,  33,  55,  56,  57,  63,
                                               64, 65, 119, 120, 127, 128, 129, 1000};

// --- encodings ------------------------------------------------------------------

void encoding_vectors(Vectors& v) {
    std::mt19937 rng(20240601);
    std::vector<std::pair<std::string, Bytes>> inputs;
    for (auto n : edge_lengths)
        inputs.emplace_back("random" + std::to_string(n), random_bytes(rng, n));
    Bytes all(256);
    for (std::size_t i = 0; i < all.size(); ++i)
        all[i] = static_cast<std::uint8_t>(i);
    inputs.emplace_back("all-byte-values", all);
    inputs.emplace_back("zeros32", Bytes(32, 0x00));
    inputs.emplace_back("ones32", Bytes(32, 0xff));
    inputs.emplace_back("zeros20", Bytes(20, 0x00));
    inputs.emplace_back("ones20", Bytes(20, 0xff));

    for (auto& [label, data] : inputs) {
        v.add("toHex/" + label, "toHex", {data});
        v.add("toNix32/" + label, "toNix32", {data});
        v.add("toBase64/" + label, "toBase64", {data});
        auto hex = encoding::to_hex(data);
        v.add("fromHex/" + label, "fromHex", {text(hex)});
        std::string upper = hex;
        for (auto& c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        v.add("fromHex/upper-" + label, "fromHex", {text(upper)});
        auto n32 = encoding::to_nix32(data);
        auto n = static_cast<std::uint32_t>(data.size());
        v.add("fromNix32/" + label, "fromNix32", {text(n32), n});
        v.add("fromNix32/count+1-" + label, "fromNix32", {text(n32), n + 1});
        if (n > 0)
            v.add("fromNix32/count-1-" + label, "fromNix32", {text(n32), n - 1});
        v.add("fromBase64/" + label, "fromBase64", {text(encoding::to_base64(data))});
    }
    for (auto seed : {0u, 1u, 20u})
        v.add("toHex/pattern-1MiB-seed" + std::to_string(seed), "toHex", {Pattern{1 << 20, seed}});
    v.add("toNix32/pattern-1MiB", "toNix32", {Pattern{1 << 20, 7}});
    v.add("toBase64/pattern-1MiB", "toBase64", {Pattern{1 << 20, 7}});
    v.add("fromHex/pattern-1MiB", "fromHex", {text(encoding::to_hex(pattern_bytes({1 << 20, 9})))});
    v.add("fromBase64/pattern-1MiB", "fromBase64",
          {text(encoding::to_base64(pattern_bytes({1 << 20, 9})))});

    // Invalid hex.
    const std::vector<std::pair<std::string, std::string>> bad_hex = {
        {"odd", "abc"},
        {"non-hex", "zz"},
        {"g", "0g"},
        {"space-lead", " 00"},
        {"space-tail", "00 "},
        {"newline", "00\n0"},
        {"nul", std::string("0\0", 2)},
        {"utf8", "\xc3\xa9"},
        {"ff", "\xff\xff"},
        {"sign", "-1"},
        {"prefix", "0x00"},
    };
    for (auto& [label, t] : bad_hex)
        v.add("fromHex/invalid-" + label, "fromHex", {text(t)});

    // Invalid nix32: letters outside the alphabet, overflow, lengths.
    auto h32 = encoding::to_nix32(random_bytes(rng, 32));
    auto h20 = encoding::to_nix32(random_bytes(rng, 20));
    for (char c : std::string("eotuAZ:.-_ \x80\xff")) {
        auto t = h32;
        t[5] = c;
        v.add("fromNix32/invalid-char-" + encoding::to_hex(as_bytes(std::string(1, c))),
              "fromNix32", {text(t), 32u});
    }
    v.add("fromNix32/overflow-52z", "fromNix32", {text(std::string(52, 'z')), 32u});
    v.add("fromNix32/overflow-first-char-1", "fromNix32", {text("1" + h32.substr(1)), 32u});
    v.add("fromNix32/max-first-char-0", "fromNix32", {text("0" + std::string(51, 'z')), 32u});
    v.add("fromNix32/20-bytes-all-z", "fromNix32", {text(std::string(32, 'z')), 20u});
    v.add("fromNix32/20-as-32", "fromNix32", {text(h20), 32u});
    v.add("fromNix32/32-as-20", "fromNix32", {text(h32), 20u});
    v.add("fromNix32/empty-as-0", "fromNix32", {text(""), 0u});
    v.add("fromNix32/empty-as-20", "fromNix32", {text(""), 20u});
    v.add("fromNix32/truncated", "fromNix32", {text(h32.substr(1)), 32u});
    v.add("fromNix32/extended", "fromNix32", {text("0" + h32), 32u});
    // Huge byte counts: the expected text length no longer fits a 32-bit size_t.
    for (std::uint32_t count : {0x10000000u, 0x33333333u, 0x40000000u, 0x80000000u, 0xffffffffu})
        v.add("fromNix32/huge-count-" + std::to_string(count), "fromNix32", {text(h32), count});
    // ... and where it wraps to 0 on wasm32, empty text must still be refused.
    for (std::uint32_t count : {0x40000000u, 0x80000000u})
        v.add("fromNix32/empty-huge-count-" + std::to_string(count), "fromNix32",
              {text(""), count});

    // Invalid base64.
    const std::vector<std::pair<std::string, std::string>> bad_base64 = {
        {"short", "Zm9"},       {"pad-middle", "Zm=v"},     {"pad-bits-1", "Zh=="},
        {"pad-bits-2", "Zm9="}, {"newline", "Zm9v\n"},      {"all-pad", "===="},
        {"one-pad", "="},       {"three-pad", "Z==="},      {"pad-then-char", "Zg=A"},
        {"url-safe", "-_-_"},   {"no-pad", "Zg"},           {"inner-pad", "Zg==Zg=="},
        {"space", "Zm9 "},      {"ff", "\xff\xff\xff\xff"}, {"nul", std::string("Zm9\0", 4)},
        {"five", "Zm9vY"},
    };
    for (auto& [label, t] : bad_base64)
        v.add("fromBase64/invalid-" + label, "fromBase64", {text(t)});
}

// --- SHA-256 --------------------------------------------------------------------

void sha256_vectors(Vectors& v) {
    std::mt19937 rng(4242);
    for (auto n : edge_lengths)
        v.add("sha256/random" + std::to_string(n), "sha256", {random_bytes(rng, n)});
    v.add("sha256/abc", "sha256", {text("abc")});
    v.add("sha256/hello-newline", "sha256", {text("hello\n")});
    for (std::size_t n : {std::size_t{1} << 20, (std::size_t{1} << 20) - 1,
                          (std::size_t{1} << 20) + 1, std::size_t{3} << 20})
        v.add("sha256/pattern-" + std::to_string(n), "sha256", {Pattern{n, 1}});
}

// --- Ed25519 -------------------------------------------------------------------

std::string named(std::string_view name, ByteView bytes) {
    return std::string(name) + ":" + encoding::to_base64(bytes);
}

void ed25519_vectors(Vectors& v) {
    std::vector<std::string> accepted;
    std::size_t total = 0;
    for (const auto& c : test::ed25519_cases()) {
        v.add("ed25519/" + c.label, "signatureVerify",
              {text(named("k", c.public_key)), c.message, text(named("k", c.signature))}, c.note);
        ++total;
        if (v.last_status() == 0)
            accepted.push_back(c.label);
    }
    std::cout << "make_vectors: Ed25519: native libsodium " << SODIUM_VERSION_STRING << " accepts "
              << accepted.size() << " of " << total << " crafted signatures:";
    for (const auto& label : accepted)
        std::cout << " " << label;
    std::cout << "\n";

    // Lengths and names around the 32/64-byte blobs.
    auto key = secret_key_from_seed("k", Bytes(32, 0x42));
    auto pk = key->public_key();
    auto sig = sign(*key, "m");
    Bytes big_message = pattern_bytes({1 << 20, 5});
    v.add("ed25519/valid-1MiB-message", "signatureVerify",
          {text(pk.to_string()), Pattern{1 << 20, 5},
           text(sign(*key, as_chars(big_message)).to_string())});
    v.add("ed25519/names-ignored", "signatureVerify",
          {text(named("a", pk.bytes)), text("m"), text(named("b", sig.bytes))},
          "key names are the caller's business in signatureVerify");
    v.add("ed25519/key-31-bytes", "signatureVerify",
          {text(named("k", ByteView(pk.bytes).first(31))), text("m"), text(sig.to_string())});
    v.add("ed25519/key-33-bytes", "signatureVerify",
          {text(pk.to_string().substr(0, 2) + encoding::to_base64(Bytes(33, 1))), text("m"),
           text(sig.to_string())});
    v.add("ed25519/sig-63-bytes", "signatureVerify",
          {text(pk.to_string()), text("m"), text(named("k", ByteView(sig.bytes).first(63)))});
    v.add("ed25519/sig-65-bytes", "signatureVerify",
          {text(pk.to_string()), text("m"), text(named("k", Bytes(65, 1)))});
    v.add("ed25519/sig-no-name", "signatureVerify",
          {text(pk.to_string()), text("m"), text(encoding::to_base64(sig.bytes))});
    v.add("ed25519/key-bad-base64", "signatureVerify",
          {text("k:" + std::string(43, '!') + "="), text("m"), text(sig.to_string())});
}

// --- public keys ---------------------------------------------------------------------

void key_vectors(Vectors& v, const std::filesystem::path& data) {
    auto pk = secret_key_from_seed("cache.example.org-1", Bytes(32, 9))->public_key().to_string();
    const std::vector<std::pair<std::string, std::string>> keys = {
        {"valid", pk},
        {"nix-test-key", read_text(data / "nixcache" / "pk")},
        {"nix-test-key-trimmed", trim(read_text(data / "nixcache" / "pk"))},
        {"no-colon", "abc"},
        {"empty-name", ":" + pk.substr(pk.find(':') + 1)},
        {"space-in-name", "a b" + pk.substr(pk.find(':'))},
        {"two-colons", "a:b" + pk.substr(pk.find(':'))},
        {"short", "k:" + encoding::to_base64(Bytes(31, 1))},
        {"long", "k:" + encoding::to_base64(Bytes(33, 1))},
        {"secret-key-size", "k:" + encoding::to_base64(Bytes(64, 1))},
        {"empty", ""},
        {"trailing-newline", pk + "\n"},
        {"bad-padding-bits", "k:" + encoding::to_base64(Bytes(32, 1)).substr(0, 42) + "B="},
        {"del-in-name", "a\x7f" + pk.substr(pk.find(':'))},
        {"utf8-name", "\xc3\xa9" + pk.substr(pk.find(':'))},
    };
    for (auto& [label, t] : keys)
        v.add("publicKeyParse/" + label, "publicKeyParse", {text(t)});
}

// --- narinfo -------------------------------------------------------------------------

const std::string minimal_narinfo =
    "StorePath: /nix/store/z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep\n"
    "URL: nar/abc.nar.zst\n"
    "NarHash: sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv\n"
    "NarSize: 120\n";

void narinfo_vectors(Vectors& v, const std::filesystem::path& data) {
    auto dir = data / "nixcache";
    auto nix_key = trim(read_text(dir / "pk"));
    auto other_key = secret_key_from_seed("other-1", Bytes(32, 3))->public_key().to_string();
    auto same_name_other_key =
        secret_key_from_seed("nixedge-test-1", Bytes(32, 4))->public_key().to_string();

    // Narinfos written by the real Nix (tests/data/nixcache).
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir / "cache"))
        if (entry.path().extension() == ".narinfo")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) {
        std::cerr << "make_vectors: no narinfos in " << (dir / "cache") << "\n";
        std::exit(1);
    }
    for (const auto& file : files) {
        auto label = "nix-" + file.stem().string();
        auto t = read_text(file);
        v.add("narinfoParse/" + label, "narinfoParse", {text(t)});
        v.add("narinfoCanonical/" + label, "narinfoCanonical", {text(t)});
        v.add("narinfoFingerprint/" + label, "narinfoFingerprint", {text(t)});
        v.add("narinfoVerify/" + label, "narinfoVerify", {text(t), text(nix_key)});
        v.add("narinfoVerify/" + label + "-two-keys", "narinfoVerify",
              {text(t), text(other_key + "\n  " + nix_key + "\t")});
        v.add("narinfoVerify/" + label + "-wrong-key", "narinfoVerify", {text(t), text(other_key)});
        v.add("narinfoVerify/" + label + "-same-name-other-key", "narinfoVerify",
              {text(t), text(same_name_other_key)});
        // Re-ordered lines parse to the same narinfo; the canonical form restores Nix's order.
        auto reversed = t;
        {
            std::vector<std::string> lines;
            std::string line;
            for (char c : t) {
                line += c;
                if (c == '\n') {
                    lines.push_back(line);
                    line.clear();
                }
            }
            std::reverse(lines.begin(), lines.end());
            reversed.clear();
            for (auto& l : lines)
                reversed += l;
        }
        v.add("narinfoCanonical/" + label + "-reversed", "narinfoCanonical", {text(reversed)});
        v.add("narinfoVerify/" + label + "-reversed", "narinfoVerify",
              {text(reversed), text(nix_key)});
    }

    // Synthetic ones: variations on a minimal narinfo.
    auto m = minimal_narinfo;
    auto key_a = *secret_key_from_seed("a-1", Bytes(32, 1));
    auto key_b = *secret_key_from_seed("b-1", Bytes(32, 2));
    auto signed_info =
        *parse_narinfo(m + "References: z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep "
                           "5za2hn50p23x3plg2f352s6q0kp4qh1j-nixedge-text\n");
    sign_narinfo(signed_info, key_a);
    sign_narinfo(signed_info, key_b);
    auto signed_text = serialize_narinfo(signed_info);
    auto tampered_text = signed_text;
    tampered_text.replace(tampered_text.find("NarSize: 120"), 12, "NarSize: 121");

    const std::vector<std::pair<std::string, std::string>> texts = {
        {"minimal", m},
        {"unknown-deriver", m + "Deriver: unknown-deriver\n"},
        {"signed-two-keys", signed_text},
        {"tampered", tampered_text},
        {"max-sizes", m + "FileSize: 18446744073709551615\n"},
        {"system-quote-backslash", m + "System: x86\"64\\linux\n"},
        {"ca-text", m + "CA: text:sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv\n"},
        {"narhash-hex",
         std::string(m).replace(m.find("sha256:"), 59, "sha256:" + std::string(64, 'a'))},
        {"narhash-sri", std::string(m).replace(m.find("sha256:"), 59,
                                               "sha256-" + encoding::to_base64(Bytes(32, 7)))},
        {"url-utf8", std::string(m).replace(m.find("abc"), 3, "\xc3\xa9")},
        {"system-invalid-utf8", m + "System: a\xff\xfe"
                                    "b\n"},
        {"system-utf8-edge", m + "System: \xc2\x80|\xdf\xbf|\xe0\xa0\x80|\xed\x9f\xbf|\xef\xbf\xbf|"
                                 "\xf0\x90\x80\x80|\xf4\x8f\xbf\xbf\n"},
        {"system-utf8-bad",
         m + "System: \xc0\xaf|\xc1\xbf|\xe0\x80\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|"
             "\xf5\x80\x80\x80|\xe2\x82|\x80|\xf0\x9f\x98\n"},
        {"empty", ""},
        {"no-final-newline", m.substr(0, m.size() - 1)},
        {"crlf",
         [&] {
             std::string out;
             for (char c : m)
                 out += c == '\n' ? std::string("\r\n") : std::string(1, c);
             return out;
         }()},
        {"missing-storepath", "URL: x\nNarSize: 1\n"},
        {"narsize-zero", std::string(m).replace(m.find("NarSize: 120"), 12, "NarSize: 0")},
        {"narsize-leading-zero",
         std::string(m).replace(m.find("NarSize: 120"), 12, "NarSize: 0120")},
        {"narsize-overflow",
         std::string(m).replace(m.find("NarSize: 120"), 12, "NarSize: 18446744073709551616")},
        {"duplicate-field", m + "NarSize: 5\n"},
        {"unknown-field", m + "Bogus: x\n"},
        {"no-colon", m + "NoColon\n"},
        {"bad-sig", m + "Sig: nope\n"},
        {"bad-reference", m + "References: a b\n"},
        {"reference-trailing-space",
         m + "References: z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep \n"},
        {"bad-store-path", std::string(m).replace(0, 63, "StorePath: /nix/store/bad")},
        {"nul-byte", m + std::string("System: a\0b\n", 12)},
        {"control-chars", m + "System: a\x01\x1f\x7f"
                              "b\n"},
        {"binary-junk", std::string("\xff\xfe\x00\x01\n", 5)},
        {"too-large", m + "System: " + std::string(narinfo_max_bytes, 'x') + "\n"},
    };
    for (auto& [label, t] : texts) {
        v.add("narinfoParse/" + label, "narinfoParse", {text(t)});
        v.add("narinfoCanonical/" + label, "narinfoCanonical", {text(t)});
        v.add("narinfoFingerprint/" + label, "narinfoFingerprint", {text(t)});
    }
    auto pk_a = key_a.public_key().to_string();
    auto pk_b = key_b.public_key().to_string();
    const std::vector<std::pair<std::string, std::pair<std::string, std::string>>> verifies = {
        {"signed/key-a", {signed_text, pk_a}},
        {"signed/key-b", {signed_text, pk_b}},
        {"signed/both", {signed_text, pk_b + " " + pk_a}},
        {"tampered/key-a", {tampered_text, pk_a}},
        {"unsigned", {m, pk_a}},
        {"no-trusted-keys", {signed_text, ""}},
        {"whitespace-only-keys", {signed_text, " \n\t "}},
        {"junk-trusted-key", {signed_text, pk_a + " junk"}},
        {"duplicate-trusted-key", {signed_text, pk_a + " " + pk_a}},
        {"conflicting-trusted-keys",
         {signed_text, pk_a + " a-1:" + encoding::to_base64(key_b.public_key().bytes)}},
        {"invalid-narinfo", {"junk\n", pk_a}},
    };
    for (auto& [label, args] : verifies)
        v.add("narinfoVerify/" + label, "narinfoVerify", {text(args.first), text(args.second)});

    // Narinfos signed with the crafted Ed25519 cases: the verify path end to end.
    for (const auto& c : test::ed25519_cases()) {
        if (c.label != "valid/fingerprint" && c.label != "S-noncanonical/S+1L" &&
            c.label != "R-small-order/identity" && c.label != "junk/zero-signature")
            continue;
        v.add("narinfoVerify/crafted-" + c.label, "narinfoVerify",
              {text(m + "Sig: k:" + encoding::to_base64(c.signature) + "\n"),
               text(named("k", c.public_key))},
              c.note);
    }
}
} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: nixedge-make-vectors OUT.json TEST_DATA_DIR\n";
        return 2;
    }
    std::filesystem::path data = argv[2];
    Vectors v;
    encoding_vectors(v);
    sha256_vectors(v);
    ed25519_vectors(v);
    key_vectors(v, data);
    narinfo_vectors(v, data);
    manifest_vectors(v);
    range_vectors(v);
    edge_name_vectors(v);
    serving_vectors(v);
    chunker_vectors(v);
    nar_listing_vectors(v, data);
    zstd_vectors(v);
    std::ofstream out(argv[1], std::ios::binary);
    out << v.document().dump() << "\n";
    if (!out.flush()) {
        std::cerr << "make_vectors: cannot write " << argv[1] << "\n";
        return 1;
    }
    std::cout << "make_vectors: " << v.size() << " vectors -> " << argv[1] << "\n";
    return 0;
}
