// Writes the native half of the native == wasm comparison: a JSON file of
// inputs for every operation the edge module exports, each with the outcome of
// the SAME operation (wasm-edge/src/operations.cpp) built natively.
// run_vectors.mjs feeds the inputs to the wasm module and compares byte for byte.
//
// File format (version 1):
//   {"version": 1, "vectors": [{"name", "op", "args": [arg...], "expect": {...}}]}
//   op:     an OPERATIONS name in wasm-edge/src/core.mjs
//   arg:    {"hex": "..."} bytes | {"u32": n} | {"pattern": {"len": n, "seed": s}}
//           (pattern: bytes from the LCG in pattern_bytes(), for large inputs)
//   expect: {"status": 0 or an ErrorCode, "error": name, and the result
//           buffer's bytes as "hex", or as "sha256" of them when large}
//
// Usage: nixedge-make-vectors OUT.json
#include "operations.hpp"

#include "nixedge/encoding.hpp"
#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

using namespace nixedge;
using json = nlohmann::ordered_json;

namespace {

// --- arguments --------------------------------------------------------------

struct Pattern {
    std::size_t len;
    std::uint32_t seed;
};
using Arg = std::variant<Bytes, std::uint32_t, Pattern>;

// The same generator is in run_vectors.mjs.
Bytes pattern_bytes(Pattern p) {
    Bytes out(p.len);
    std::uint32_t x = p.seed;
    for (auto& b : out) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::uint8_t>(x >> 24);
    }
    return out;
}

Arg text(std::string_view s) { return to_bytes(s); }

// --- operations: JS name -> the native call ---------------------------------

// Every outcome as the wasm module would leave it: status + result buffer bytes.
struct Outcome {
    int status;
    Bytes buffer;
};
Outcome ok(std::string_view s) { return {0, to_bytes(s)}; }
Outcome ok(Bytes b) { return {0, std::move(b)}; }
template <class T> Outcome outcome(const Result<T>& r) {
    if (!r.ok())
        return {static_cast<int>(r.error().code), to_bytes(r.error().detail)};
    return ok(*r);
}

struct Call {
    std::vector<Bytes> bytes; // the byte arguments, in order
    std::vector<std::uint32_t> ints;
};
using Operation = std::function<Outcome(const Call&)>;

const std::map<std::string, Operation>& operations() {
    static const std::map<std::string, Operation> table = {
        {"toHex", [](const Call& c) { return ok(edge::hex_encode(c.bytes.at(0))); }},
        {"fromHex", [](const Call& c) { return outcome(edge::hex_decode(c.bytes.at(0))); }},
        {"toNix32", [](const Call& c) { return ok(edge::nix32_encode(c.bytes.at(0))); }},
        {"fromNix32",
         [](const Call& c) { return outcome(edge::nix32_decode(c.bytes.at(0), c.ints.at(0))); }},
        {"toBase64", [](const Call& c) { return ok(edge::base64_encode(c.bytes.at(0))); }},
        {"fromBase64", [](const Call& c) { return outcome(edge::base64_decode(c.bytes.at(0))); }},
        {"sha256", [](const Call& c) { return ok(edge::sha256(c.bytes.at(0))); }},
    };
    return table;
}

// --- the vector file ----------------------------------------------------------

constexpr std::size_t inline_limit = 64 * 1024; // larger results are stored as their SHA-256

class Vectors {
  public:
    void add(const std::string& name, const std::string& op, std::vector<Arg> args) {
        Call call;
        json jargs = json::array();
        for (auto& arg : args) {
            if (auto* b = std::get_if<Bytes>(&arg)) {
                jargs.push_back({{"hex", encoding::to_hex(*b)}});
                call.bytes.push_back(*b);
            } else if (auto* n = std::get_if<std::uint32_t>(&arg)) {
                jargs.push_back({{"u32", *n}});
                call.ints.push_back(*n);
            } else {
                auto p = std::get<Pattern>(arg);
                jargs.push_back({{"pattern", {{"len", p.len}, {"seed", p.seed}}}});
                call.bytes.push_back(pattern_bytes(p));
            }
        }
        Outcome out = operations().at(op)(call);
        json expect = {{"status", out.status},
                       {"error", out.status ? error_code_name(static_cast<ErrorCode>(out.status)) : ""}};
        if (out.buffer.size() <= inline_limit)
            expect["hex"] = encoding::to_hex(out.buffer);
        else
            expect["sha256"] = encoding::to_hex(Sha256::digest(out.buffer));
        if (!names_.insert(name).second) {
            std::cerr << "make_vectors: duplicate vector name " << name << "\n";
            std::exit(1);
        }
        vectors_.push_back({{"name", name}, {"op", op}, {"args", std::move(jargs)}, {"expect", std::move(expect)}});
    }

    json document() const { return {{"version", 1}, {"vectors", vectors_}}; }
    std::size_t size() const { return vectors_.size(); }

  private:
    json vectors_ = json::array();
    std::set<std::string> names_;
};

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
    Bytes out(n);
    for (auto& b : out)
        b = static_cast<std::uint8_t>(rng() >> 24);
    return out;
}

// Lengths around SHA-256's block and padding boundaries and base64/nix32 group sizes.
const std::vector<std::size_t> edge_lengths = {0,  1,  2,  3,  4,  5,  19,  20,  21,  31,  32,  33,
                                               55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000};

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
        {"odd", "abc"},       {"non-hex", "zz"},     {"g", "0g"},          {"space-lead", " 00"},
        {"space-tail", "00 "}, {"newline", "00\n0"}, {"nul", std::string("0\0", 2)},
        {"utf8", "\xc3\xa9"}, {"ff", "\xff\xff"},    {"sign", "-1"},       {"prefix", "0x00"},
    };
    for (auto& [label, t] : bad_hex)
        v.add("fromHex/invalid-" + label, "fromHex", {text(t)});

    // Invalid nix32: letters outside the alphabet, overflow, lengths.
    auto h32 = encoding::to_nix32(random_bytes(rng, 32));
    auto h20 = encoding::to_nix32(random_bytes(rng, 20));
    for (char c : std::string("eotuAZ:.-_ \x80\xff")) {
        auto t = h32;
        t[5] = c;
        v.add("fromNix32/invalid-char-" + encoding::to_hex(as_bytes(std::string(1, c))), "fromNix32",
              {text(t), 32u});
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
        v.add("fromNix32/empty-huge-count-" + std::to_string(count), "fromNix32", {text(""), count});

    // Invalid base64.
    const std::vector<std::pair<std::string, std::string>> bad_base64 = {
        {"short", "Zm9"},          {"pad-middle", "Zm=v"},   {"pad-bits-1", "Zh=="},
        {"pad-bits-2", "Zm9="},    {"newline", "Zm9v\n"},    {"all-pad", "===="},
        {"one-pad", "="},          {"three-pad", "Z==="},    {"pad-then-char", "Zg=A"},
        {"url-safe", "-_-_"},      {"no-pad", "Zg"},         {"inner-pad", "Zg==Zg=="},
        {"space", "Zm9 "},         {"ff", "\xff\xff\xff\xff"}, {"nul", std::string("Zm9\0", 4)},
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
    for (std::size_t n : {std::size_t{1} << 20, (std::size_t{1} << 20) - 1, (std::size_t{1} << 20) + 1,
                          std::size_t{3} << 20})
        v.add("sha256/pattern-" + std::to_string(n), "sha256", {Pattern{n, 1}});
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: nixedge-make-vectors OUT.json\n";
        return 2;
    }
    Vectors v;
    encoding_vectors(v);
    sha256_vectors(v);
    std::ofstream out(argv[1], std::ios::binary);
    out << v.document().dump() << "\n";
    if (!out.flush()) {
        std::cerr << "make_vectors: cannot write " << argv[1] << "\n";
        return 1;
    }
    std::cout << "make_vectors: " << v.size() << " vectors -> " << argv[1] << "\n";
    return 0;
}
