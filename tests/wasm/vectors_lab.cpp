// Vectors of the lab operations (nixedge-core.wasm only): FastCDC chunk
// boundaries, NAR listings, zstd frames.
#include "vectors.hpp"

#include "nixedge/nar.hpp"
#include "nixedge/nar_listing.hpp"
#include "nixedge/zstd_frames.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace nixedge::test {

namespace {

[[noreturn]] void die(const std::string& what) {
    std::cerr << "vectors: " << what << "\n";
    std::exit(1);
}

template <class T> T must(Result<T> r, const std::string& what) {
    if (!r)
        die(what + ": " + r.error().detail);
    return std::move(r).value();
}
void must(Result<void> r, const std::string& what) {
    if (!r)
        die(what + ": " + r.error().detail);
}

struct Params {
    std::string label;
    std::uint32_t min, avg, max;
};

} // namespace

// --- FastCDC ----------------------------------------------------------------------------

void chunker_vectors(Vectors& v) {
    const std::vector<Params> params = {
        {"default-256K-1M-4M", 256 << 10, 1 << 20, 4 << 20},
        {"64K-256K-1M", 64 << 10, 256 << 10, 1 << 20},
        {"16K-64K-256K", 16 << 10, 64 << 10, 256 << 10},
        {"2K-8K-64K", 2 << 10, 8 << 10, 64 << 10},
        {"64-256-1024", 64, 256, 1024},
        {"tight-4095-4096-4097", 4095, 4096, 4097},
    };
    struct Data {
        std::string label;
        Arg arg;
    };
    const std::vector<Data> data = {
        {"random-8MiB", Pattern{8 << 20, 11}},
        {"mixed-8MiB", Mixed{8 << 20, 12}},
        {"mixed-3MiB", Mixed{3 << 20, 13}},
        {"zeros-3MiB", zeros(3 << 20)},
    };
    for (const auto& p : params)
        for (const auto& d : data) {
            // The smallest chunk sizes on a few MiB give 10^4 chunks: plenty on 1 MiB.
            Arg arg = d.arg;
            if (p.avg < 4096) {
                if (auto* pattern = std::get_if<Pattern>(&arg))
                    pattern->len = 1 << 20;
                else if (auto* mixed = std::get_if<Mixed>(&arg))
                    mixed->len = 1 << 20;
            }
            v.add("chunkLengths/" + p.label + "/" + d.label, "chunkLengths",
                  {arg, p.min, p.avg, p.max});
            if (v.last_status() != 0)
                die("chunker parameters " + p.label + " refused natively");
        }
    // Lengths around min and max: the cut rules at their edges.
    const Params small = {"64-256-1024", 64, 256, 1024};
    for (std::size_t n : {0, 1, 63, 64, 65, 255, 256, 1023, 1024, 1025, 2047, 2048, 2049}) {
        v.add("chunkLengths/" + small.label + "/random-" + std::to_string(n), "chunkLengths",
              {Pattern{n, 21}, small.min, small.avg, small.max});
        v.add("chunkLengths/" + small.label + "/zeros-" + std::to_string(n), "chunkLengths",
              {zeros(n), small.min, small.avg, small.max});
    }
    for (std::size_t n : {(4u << 20) - 1, 4u << 20, (4u << 20) + 1})
        v.add("chunkLengths/default/zeros-" + std::to_string(n), "chunkLengths",
              {zeros(n), 256u << 10, 1u << 20, 4u << 20});
    // Parameters the chunker refuses.
    const std::vector<Params> invalid = {
        {"avg-not-power-of-two", 1024, 3000, 8192},
        {"avg-too-small", 64, 128, 1024},
        {"avg-too-large", 1 << 20, 1 << 27, 1u << 28},
        {"min-below-window", 63, 256, 1024},
        {"min-equals-avg", 256, 256, 1024},
        {"max-equals-avg", 64, 256, 256},
        {"max-over-limit", 1 << 20, 1 << 22, (64u << 20) + 1},
        {"max-at-limit", 1 << 20, 1 << 22, 64u << 20},
        {"zeros", 0, 0, 0},
        {"u32-max", 0xffffffffu, 0xffffffffu, 0xffffffffu},
    };
    for (const auto& p : invalid)
        v.add("chunkLengths/params-" + p.label, "chunkLengths",
              {Pattern{4096, 1}, p.min, p.avg, p.max});
}

// --- NAR listings -----------------------------------------------------------------------

namespace {

Bytes directory_of(const std::vector<std::string>& names) {
    NarWriter w;
    must(w.start_directory(""), "NarWriter");
    for (const auto& name : names)
        must(w.file(name, as_bytes("x")), "NarWriter");
    must(w.end_directory(), "NarWriter");
    return w.take_output();
}

Bytes nested(int depth) {
    NarWriter w;
    must(w.start_directory(""), "NarWriter");
    for (int i = 1; i < depth; ++i)
        must(w.start_directory("d"), "NarWriter");
    for (int i = 0; i < depth; ++i)
        must(w.end_directory(), "NarWriter");
    return w.take_output();
}

Bytes symlink_to(const std::string& target) {
    NarWriter w;
    must(w.symlink("", target), "NarWriter");
    return w.take_output();
}

// `nar` with the first occurrence of `from` replaced by `to` (same length).
Bytes patched(Bytes nar, std::string_view from, std::string_view to) {
    auto at = std::search(nar.begin(), nar.end(), from.begin(), from.end());
    if (at == nar.end() || from.size() != to.size())
        die("cannot patch a NAR");
    std::copy(to.begin(), to.end(), at);
    return nar;
}

} // namespace

void nar_listing_vectors(Vectors& v, const std::filesystem::path& data) {
    // Golden NARs made by Nix 2.8, whose listings Nix wrote too: the native
    // listing must equal Nix's (else the vectors would pin a wrong answer).
    std::vector<std::filesystem::path> nars;
    for (const auto& dir : {data / "nar", data / "nixcache" / "nars"})
        for (const auto& entry : std::filesystem::directory_iterator(dir))
            if (entry.path().extension() == ".nar")
                nars.push_back(entry.path());
    std::sort(nars.begin(), nars.end());
    if (nars.empty())
        die("no golden NARs under " + data.string());
    for (const auto& path : nars) {
        auto label = path.parent_path().filename().string() + "-" + path.stem().string();
        auto nar = read_bytes(path);
        v.add("narListing/golden-" + label, "narListing", {nar});
        auto golden =
            path.parent_path().filename() == "nars"
                ? path.parent_path().parent_path() / "cache" / (path.stem().string() + ".ls")
                : std::filesystem::path(path).replace_extension(".ls");
        if (v.last_status() != 0 || v.last_output() != read_bytes(golden))
            die("the native listing of " + path.string() + " differs from " + golden.string());
    }

    // Valid NARs at the parser's limits, and names Nix's JSON escapes (or not).
    std::vector<std::string> odd_names = {"\x01",         "\t\n\r",      "\"",       "\\",
                                          "\x7f",         "caf\xc3\xa9", "\xff\xfe", "a b",
                                          "\xe2\x80\xa8", "<>&'",        "\x1f"};
    std::sort(odd_names.begin(), odd_names.end()); // NAR order: bytewise
    Bytes root_file;
    {
        NarWriter w;
        must(w.file("", pattern_bytes({1 << 20, 3}), true), "NarWriter");
        root_file = w.take_output();
    }
    const std::vector<std::pair<std::string, Bytes>> valid = {
        {"depth-256", nested(256)},
        {"name-255", directory_of({std::string(255, 'n')})},
        {"target-4095", symlink_to(std::string(4095, 't'))},
        {"escapes", directory_of(odd_names)},
        {"executable-1MiB-root-file", root_file},
    };
    for (const auto& [label, nar] : valid) {
        v.add("narListing/" + label, "narListing", {nar});
        if (v.last_status() != 0)
            die("NAR case " + label + " is refused natively");
    }

    // Malformed.
    const Bytes tree = read_bytes(data / "nar" / "tree.nar");
    const Bytes file = read_bytes(data / "nar" / "file.nar");
    std::vector<std::pair<std::string, Bytes>> bad = {
        {"empty", {}},
        {"magic-only", Bytes(tree.begin(), tree.begin() + 24)},
        {"bad-magic", patched(tree, "nix-archive-1", "nix-archive-2")},
        {"trailing-bytes",
         [&] {
             Bytes b = file;
             b.insert(b.end(), 8, 0);
             return b;
         }()},
        {"trailing-nar",
         [&] {
             Bytes b = file;
             b.insert(b.end(), file.begin(), file.end());
             return b;
         }()},
        {"unsorted", directory_of({"b", "a"})},
        {"duplicate", directory_of({"a", "a"})},
        {"name-slash", directory_of({"a/b"})},
        {"name-dot", directory_of({"."})},
        {"name-dotdot", directory_of({".."})},
        {"name-empty", directory_of({""})},
        {"name-nul", directory_of({std::string("a\0b", 3)})},
        {"name-256", directory_of({std::string(256, 'n')})},
        {"target-4096", symlink_to(std::string(4096, 't'))},
        {"depth-257", nested(257)},
        {"unknown-type", patched(symlink_to("abcdefg"), "symlink", "fifo___")},
        {"type-keyword-case", patched(file, "regular", "Regular")},
        {"padding-not-zero",
         [&] {
             // file.nar holds "hello\n"-like contents padded to 8: set a padding byte.
             Bytes b = file;
             auto at =
                 std::search(b.begin(), b.end(), std::begin("contents"), std::end("contents") - 1);
             if (at == b.end())
                 die("file.nar has no contents");
             std::size_t length_at = static_cast<std::size_t>(at - b.begin()) + 8;
             std::size_t size = b[length_at];
             if (size % 8 == 0)
                 die("file.nar's contents need padding");
             b[length_at + 8 + size] = 1;
             return b;
         }()},
        {"huge-length",
         [&] {
             Bytes b = file;
             auto at =
                 std::search(b.begin(), b.end(), std::begin("contents"), std::end("contents") - 1);
             std::fill(at + 8, at + 16, 0xff);
             return b;
         }()},
    };
    for (std::size_t cut :
         {std::size_t{1}, std::size_t{8}, std::size_t{13}, std::size_t{16}, std::size_t{24},
          std::size_t{100}, tree.size() / 2, tree.size() - 8, tree.size() - 1})
        bad.emplace_back("truncated-" + std::to_string(cut),
                         Bytes(tree.begin(), tree.begin() + cut));
    for (const auto& [label, nar] : bad) {
        v.add("narListing/malformed-" + label, "narListing", {nar});
        if (v.last_status() == 0)
            die("NAR case " + label + " is accepted natively");
    }
}

// --- zstd -------------------------------------------------------------------------------

void zstd_vectors(Vectors& v) {
    // Frames made natively (Debian's libzstd), decompressed in wasm (zstd from npm).
    auto frame = [](ByteView raw, int level, bool checksum = true) {
        auto compressor = must(ZstdCompressor::create({level, checksum}), "zstd compressor");
        Bytes out;
        must(compressor.compress_frame(raw, out), "zstd frame");
        return out;
    };
    auto cat = [](std::vector<Bytes> parts) {
        Bytes out;
        for (auto& p : parts)
            out.insert(out.end(), p.begin(), p.end());
        return out;
    };
    const Bytes random = pattern_bytes({1 << 20, 31});
    const Bytes mixed = mixed_bytes({1 << 20, 32});
    const Bytes text_like = mixed_bytes({100000, 33});
    const Bytes one = {0x42};

    std::vector<std::pair<std::string, Bytes>> good = {
        {"empty-input", {}},
        {"empty-frame", frame({}, 3)},
        {"one-byte", frame(one, 3)},
        {"random-1MiB", frame(random, 3)},
        {"mixed-1MiB-level-1", frame(mixed, 1)},
        {"mixed-1MiB-level-3", frame(mixed, 3)},
        {"mixed-1MiB-level-19", frame(mixed, 19)},
        {"mixed-1MiB-level-minus-5", frame(mixed, -5)},
        {"no-checksum", frame(text_like, 3, false)},
        {"zeros-8MiB", frame(Bytes(8 << 20, 0), 3)},
        {"concatenated-3", cat({frame(ByteView(mixed).first(300000), 3),
                                frame(ByteView(mixed).subspan(300000, 300000), 3),
                                frame(ByteView(mixed).subspan(600000), 3)})},
        {"concatenated-with-empty", cat({frame(one, 3), frame({}, 3), frame(text_like, 3)})},
        {"same-frame-twice", cat({frame(text_like, 3), frame(text_like, 3)})},
        {"skippable-frame",
         cat({Bytes{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4}, frame(text_like, 3)})},
    };
    for (const auto& [label, frames] : good) {
        v.add("zstdDecompress/" + label, "zstdDecompress", {frames});
        if (v.last_status() != 0)
            die("zstd case " + label + " fails natively");
    }

    const Bytes f = frame(text_like, 3);
    auto flipped = [&](std::size_t at) {
        Bytes b = f;
        b.at(at) ^= 0x5a;
        return b;
    };
    std::vector<std::pair<std::string, Bytes>> bad = {
        {"bad-magic", flipped(0)},
        {"garbage", pattern_bytes({1000, 34})},
        {"header-only", Bytes(f.begin(), f.begin() + 6)},
        {"checksum", flipped(f.size() - 1)},
        {"corrupt-middle", flipped(f.size() / 2)},
        {"corrupt-block-header", flipped(9)},
        {"trailing-garbage",
         [&] {
             Bytes b = f;
             b.insert(b.end(), {1, 2, 3, 4, 5});
             return b;
         }()},
        {"trailing-zeros",
         [&] {
             Bytes b = f;
             b.insert(b.end(), 16, 0);
             return b;
         }()},
        // Window_Descriptor declaring 2^31 bytes (exponent 21 + 10), no single segment.
        {"window-too-large", Bytes{0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x01, 0x00, 0x00}},
        {"second-frame-truncated", cat({f, Bytes(f.begin(), f.end() - 3)})},
        {"bomb-257MiB", frame(Bytes((256u << 20) + (1u << 20), 0), 1)},
    };
    for (std::size_t cut :
         {std::size_t{1}, std::size_t{4}, std::size_t{5}, f.size() / 2, f.size() - 4, f.size() - 1})
        bad.emplace_back("truncated-" + std::to_string(cut), Bytes(f.begin(), f.begin() + cut));
    for (const auto& [label, frames] : bad) {
        v.add("zstdDecompress/malformed-" + label, "zstdDecompress", {frames});
        if (v.last_status() == 0)
            die("zstd case " + label + " decompresses natively");
    }

    // Compression: the frame bytes may differ between zstd versions; the
    // vector checks what the wasm frame decompresses to (natively) instead.
    for (int level : {1, 3, 9, 19, 22, -1, -5, 0})
        v.add("zstdCompressFrame/mixed-3MiB-level-" + std::to_string(level), "zstdCompressFrame",
              {Mixed{3 << 20, 32}, I32{level}});
    v.add("zstdCompressFrame/empty", "zstdCompressFrame", {Bytes{}, I32{3}});
    v.add("zstdCompressFrame/one-byte", "zstdCompressFrame", {one, I32{3}});
    v.add("zstdCompressFrame/random-1MiB", "zstdCompressFrame", {Pattern{1 << 20, 31}, I32{3}});
    v.add("zstdCompressFrame/zeros-4MiB", "zstdCompressFrame", {Bytes(4 << 20, 0), I32{3}});
    for (int level : {23, -131073, 1000000, -2147483647 - 1})
        v.add("zstdCompressFrame/bad-level-" + std::to_string(level), "zstdCompressFrame",
              {one, I32{level}});
}

} // namespace nixedge::test
