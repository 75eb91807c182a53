// The native half of the native == wasm comparison, shared by the programs of
// tests/wasm: argument kinds and their generators, the operation table (JS
// name -> the native call of wasm-edge/src/operations.hpp), and the vector
// file writer.
//
// File format (version 1):
//   {"version": 1, "vectors": [{"name", "op", "args": [arg...], "expect": {...}}]}
//   op:     an OPERATIONS name in wasm-edge/src/core.mjs
//   arg:    {"hex": "..."} bytes | {"u32": n} | {"i32": n}
//           | {"pattern": {"len": n, "seed": s}}  (pattern_bytes(): an LCG, random-looking)
//           | {"mixed": {"len": n, "seed": s}}    (mixed_bytes(): runs of zeros, text,
//                                                  random bytes and repeats)
//           | {"repeat": {"prefix", "unit", "count", "suffix"}}  (hex, hex, n, hex:
//                                                  prefix + unit * count + suffix)
//           The generators are mirrored exactly in run_vectors.mjs.
//   expect: {"status": 0 or an ErrorCode, "error": name, and the result
//           buffer's bytes as "hex", or as "sha256" of them when large}
//           or, for operations whose output legitimately depends on the library
//           version (zstdCompressFrame), on success {"status": 0, "error": "",
//           "zstdFrame": {"contentSize": n}}: the wasm output must be one zstd
//           frame that declares n bytes of content, carries a checksum and
//           decompresses natively to the input (check_frames.cpp).
#pragma once

#include "nixedge/bytes.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nixedge::test {

using json = nlohmann::ordered_json;

struct Pattern {
    std::size_t len;
    std::uint32_t seed;
};
struct Mixed {
    std::size_t len;
    std::uint32_t seed;
};
struct Repeat {
    Bytes prefix;
    Bytes unit;
    std::size_t count;
    Bytes suffix;
};
struct I32 {
    std::int32_t value;
};
using Arg = std::variant<Bytes, std::uint32_t, I32, Pattern, Mixed, Repeat>;

Bytes pattern_bytes(Pattern p);
Bytes mixed_bytes(Mixed m);
Bytes repeat_bytes(const Repeat& r);
inline Arg text(std::string_view s) {
    return to_bytes(s);
}
// n zero bytes, written compactly into the vector file.
inline Arg zeros(std::size_t n) {
    return Repeat{{}, {0}, n, {}};
}

// The bytes of a byte argument as written in a vector file (hex, pattern,
// mixed or repeat); exits on anything else.
Bytes arg_bytes(const json& arg);

std::string read_text(const std::filesystem::path& path);
Bytes read_bytes(const std::filesystem::path& path);

class Vectors {
  public:
    // `note` says what the vector is about (the Ed25519 cases need it).
    void add(const std::string& name, const std::string& op, std::vector<Arg> args,
             const std::string& note = "");

    int last_status() const { return last_status_; }
    // The result buffer of the last vector added, as the native operation left it.
    const Bytes& last_output() const { return last_output_; }

    json document() const { return {{"version", 1}, {"vectors", vectors_}}; }
    std::size_t size() const { return vectors_.size(); }

  private:
    json vectors_ = json::array();
    std::set<std::string> names_;
    int last_status_ = 0;
    Bytes last_output_;
};

// The sections of the vector file, by operation group.
void edge_name_vectors(Vectors& v);
void manifest_vectors(Vectors& v);
void range_vectors(Vectors& v);
void serving_vectors(Vectors& v);
void chunker_vectors(Vectors& v);
void nar_listing_vectors(Vectors& v, const std::filesystem::path& data);
void zstd_vectors(Vectors& v);

} // namespace nixedge::test
