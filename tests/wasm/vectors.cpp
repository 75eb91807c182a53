#include "vectors.hpp"

#include "operations.hpp"

#include "nixedge/encoding.hpp"
#include "nixedge/result.hpp"
#include "nixedge/sha256.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>

namespace nixedge::test {

namespace {

[[noreturn]] void die(const std::string& what) {
    std::cerr << "vectors: " << what << "\n";
    std::exit(1);
}

// Every outcome as the wasm module would leave it: status + result buffer bytes.
struct Outcome {
    int status;
    Bytes buffer;
};
Outcome ok(std::string_view s) {
    return {0, to_bytes(s)};
}
Outcome ok(Bytes b) {
    return {0, std::move(b)};
}
template <class T> Outcome outcome(const Result<T>& r) {
    if (!r.ok())
        return {static_cast<int>(r.error().code), to_bytes(r.error().detail)};
    return ok(*r);
}

struct Call {
    std::vector<Bytes> bytes; // the byte arguments, in order
    std::vector<std::uint32_t> ints;
    std::vector<std::int32_t> signed_ints;
};

struct Operation {
    std::function<Outcome(const Call&)> run;
    // The output depends on the library version (zstd): checked by what it
    // decompresses to, not byte for byte.
    bool zstd_frame_output = false;
};

// JS name (core.mjs OPERATIONS) -> the native call.
const std::map<std::string, Operation>& operations() {
    using C = const Call&;
    static const std::map<std::string, Operation> table = {
        // edge
        {"toHex", {[](C c) { return ok(edge::hex_encode(c.bytes.at(0))); }}},
        {"fromHex", {[](C c) { return outcome(edge::hex_decode(c.bytes.at(0))); }}},
        {"toNix32", {[](C c) { return ok(edge::nix32_encode(c.bytes.at(0))); }}},
        {"fromNix32",
         {[](C c) { return outcome(edge::nix32_decode(c.bytes.at(0), c.ints.at(0))); }}},
        {"toBase64", {[](C c) { return ok(edge::base64_encode(c.bytes.at(0))); }}},
        {"fromBase64", {[](C c) { return outcome(edge::base64_decode(c.bytes.at(0))); }}},
        {"sha256", {[](C c) { return ok(edge::sha256(c.bytes.at(0))); }}},
        {"narinfoParse", {[](C c) { return outcome(edge::narinfo_parse(c.bytes.at(0))); }}},
        {"narinfoCanonical", {[](C c) { return outcome(edge::narinfo_canonical(c.bytes.at(0))); }}},
        {"narinfoFingerprint",
         {[](C c) { return outcome(edge::narinfo_fingerprint(c.bytes.at(0))); }}},
        {"narinfoVerify",
         {[](C c) { return outcome(edge::narinfo_verify(c.bytes.at(0), c.bytes.at(1))); }}},
        {"publicKeyParse", {[](C c) { return outcome(edge::public_key_parse(c.bytes.at(0))); }}},
        {"signatureVerify", {[](C c) {
             return outcome(edge::signature_verify(c.bytes.at(0), c.bytes.at(1), c.bytes.at(2)));
         }}},
        {"manifestDecode", {[](C c) { return outcome(edge::manifest_decode(c.bytes.at(0))); }}},
        {"manifestName", {[](C c) { return ok(edge::manifest_name(c.bytes.at(0))); }}},
        {"rangePlan",
         {[](C c) { return outcome(edge::range_plan(c.bytes.at(0), c.bytes.at(1))); }}},
        {"route", {[](C c) { return outcome(edge::route(c.bytes.at(0), c.bytes.at(1))); }}},
        {"narinfoCheck", {[](C c) {
             return outcome(edge::narinfo_check(c.bytes.at(0), c.bytes.at(1), c.bytes.at(2)));
         }}},
        {"narPlan", {[](C c) {
             return outcome(edge::nar_plan(c.bytes.at(0), c.bytes.at(1), c.bytes.at(2)));
         }}},
        {"storePathParse", {[](C c) { return outcome(edge::store_path_parse(c.bytes.at(0))); }}},
        {"cacheNameValidate",
         {[](C c) { return outcome(edge::cache_name_validate(c.bytes.at(0))); }}},
        {"narUrlParse", {[](C c) { return outcome(edge::nar_url_parse(c.bytes.at(0))); }}},
        {"bucketKey", {[](C c) {
             return outcome(edge::bucket_key(c.bytes.at(0), c.bytes.at(1), c.bytes.at(2)));
         }}},
        // lab
        {"chunkLengths", {[](C c) {
             return outcome(
                 lab::chunk_lengths(c.bytes.at(0), c.ints.at(0), c.ints.at(1), c.ints.at(2)));
         }}},
        {"narListing", {[](C c) { return outcome(lab::nar_listing(c.bytes.at(0))); }}},
        {"zstdDecompress", {[](C c) { return outcome(lab::zstd_decompress(c.bytes.at(0))); }}},
        {"zstdCompressFrame",
         {[](C c) { return outcome(lab::zstd_compress_frame(c.bytes.at(0), c.signed_ints.at(0))); },
          /*zstd_frame_output=*/true}},
    };
    return table;
}

constexpr std::size_t inline_limit = 64 * 1024; // larger results are stored as their SHA-256

} // namespace

// --- generators (mirrored in run_vectors.mjs) -------------------------------------

Bytes pattern_bytes(Pattern p) {
    Bytes out(p.len);
    std::uint32_t x = p.seed;
    for (auto& b : out) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::uint8_t>(x >> 24);
    }
    return out;
}

// Segments of 1..65536 bytes, each one of: zeros, text-like bytes from a small
// alphabet, random bytes, or a copy of earlier output (what deduplicates).
Bytes mixed_bytes(Mixed m) {
    static constexpr std::string_view alphabet =
        "the quick brown fox jumps over a lazy dog /nix/store 0123456789 -_.\n";
    Bytes out;
    out.reserve(m.len);
    std::uint32_t x = m.seed;
    auto next = [&] {
        x = x * 1664525u + 1013904223u;
        return x;
    };
    while (out.size() < m.len) {
        std::uint32_t kind = next() >> 30;
        std::size_t length = std::min<std::size_t>(1 + (next() >> 16), m.len - out.size());
        if (kind == 3 && out.empty())
            kind = 0;
        switch (kind) {
        case 0:
            out.insert(out.end(), length, 0);
            break;
        case 1:
            for (std::size_t i = 0; i < length; ++i)
                out.push_back(
                    static_cast<std::uint8_t>(alphabet[(next() >> 24) % alphabet.size()]));
            break;
        case 2:
            for (std::size_t i = 0; i < length; ++i)
                out.push_back(static_cast<std::uint8_t>(next() >> 24));
            break;
        default: {
            std::size_t from = next() % out.size();
            for (std::size_t i = 0; i < length; ++i) {
                std::uint8_t b = out[from + i];
                out.push_back(b);
            }
        }
        }
    }
    return out;
}

Bytes repeat_bytes(const Repeat& r) {
    Bytes out = r.prefix;
    out.reserve(r.prefix.size() + r.unit.size() * r.count + r.suffix.size());
    for (std::size_t i = 0; i < r.count; ++i)
        out.insert(out.end(), r.unit.begin(), r.unit.end());
    out.insert(out.end(), r.suffix.begin(), r.suffix.end());
    return out;
}

Bytes arg_bytes(const json& arg) {
    auto hex = [](const json& text) {
        auto bytes = encoding::from_hex(text.get<std::string>());
        if (!bytes)
            die("bad hex in a vector argument");
        return *bytes;
    };
    if (arg.contains("hex"))
        return hex(arg["hex"]);
    if (arg.contains("pattern"))
        return pattern_bytes({arg["pattern"]["len"], arg["pattern"]["seed"]});
    if (arg.contains("mixed"))
        return mixed_bytes({arg["mixed"]["len"], arg["mixed"]["seed"]});
    if (arg.contains("repeat")) {
        const auto& r = arg["repeat"];
        return repeat_bytes({hex(r["prefix"]), hex(r["unit"]), r["count"], hex(r["suffix"])});
    }
    die("not a byte argument: " + arg.dump());
}

Bytes read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        die("cannot read " + path.string());
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::string read_text(const std::filesystem::path& path) {
    auto bytes = read_bytes(path);
    return std::string(as_chars(bytes));
}

// --- the vector file ----------------------------------------------------------------

void Vectors::add(const std::string& name, const std::string& op, std::vector<Arg> args,
                  const std::string& note) {
    Call call;
    json jargs = json::array();
    for (auto& arg : args) {
        if (auto* b = std::get_if<Bytes>(&arg)) {
            jargs.push_back({{"hex", encoding::to_hex(*b)}});
            call.bytes.push_back(*b);
        } else if (auto* n = std::get_if<std::uint32_t>(&arg)) {
            jargs.push_back({{"u32", *n}});
            call.ints.push_back(*n);
        } else if (auto* i = std::get_if<I32>(&arg)) {
            jargs.push_back({{"i32", i->value}});
            call.signed_ints.push_back(i->value);
        } else if (auto* p = std::get_if<Pattern>(&arg)) {
            jargs.push_back({{"pattern", {{"len", p->len}, {"seed", p->seed}}}});
            call.bytes.push_back(pattern_bytes(*p));
        } else if (auto* m = std::get_if<Mixed>(&arg)) {
            jargs.push_back({{"mixed", {{"len", m->len}, {"seed", m->seed}}}});
            call.bytes.push_back(mixed_bytes(*m));
        } else {
            const auto& r = std::get<Repeat>(arg);
            jargs.push_back({{"repeat",
                              {{"prefix", encoding::to_hex(r.prefix)},
                               {"unit", encoding::to_hex(r.unit)},
                               {"count", r.count},
                               {"suffix", encoding::to_hex(r.suffix)}}}});
            call.bytes.push_back(repeat_bytes(r));
        }
    }
    auto entry = operations().find(op);
    if (entry == operations().end())
        die("no native operation " + op);
    Outcome out = entry->second.run(call);
    json expect = {
        {"status", out.status},
        {"error", out.status ? error_code_name(static_cast<ErrorCode>(out.status)) : ""}};
    if (out.status == 0 && entry->second.zstd_frame_output)
        expect["zstdFrame"] = {{"contentSize", call.bytes.at(0).size()}};
    else if (out.buffer.size() <= inline_limit)
        expect["hex"] = encoding::to_hex(out.buffer);
    else
        expect["sha256"] = encoding::to_hex(Sha256::digest(out.buffer));
    if (!names_.insert(name).second)
        die("duplicate vector name " + name);
    json vector = {
        {"name", name}, {"op", op}, {"args", std::move(jargs)}, {"expect", std::move(expect)}};
    if (!note.empty())
        vector["note"] = note;
    vectors_.push_back(std::move(vector));
    last_status_ = out.status;
    last_output_ = std::move(out.buffer);
}

} // namespace nixedge::test
