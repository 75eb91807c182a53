// The native half of the zstdCompressFrame vectors. zstd's compressed bytes
// may differ between versions (1.5.7 in wasm, Debian's 1.5.4 natively), so
// those vectors cannot compare bytes: run_vectors.mjs writes the frames the
// wasm module made, and this program checks with the native libzstd that each
// is exactly one frame, declares the input's length as its content size, and
// decompresses to the input. It also says how many are byte-identical to the
// native frames (for information: a difference is not a failure).
//
// Usage: nixedge-check-frames vectors.json frames.json
#include "vectors.hpp"

#include "operations.hpp"

#include "nixedge/encoding.hpp"

#include <zstd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <string>

using namespace nixedge;
using namespace nixedge::test;

namespace {

json read_json(const char* path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::cerr << "check_frames: cannot read " << path << "\n";
        std::exit(2);
    }
    return json::parse(in);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: nixedge-check-frames vectors.json frames.json\n";
        return 2;
    }
    const json vectors = read_json(argv[1]);
    const json made = read_json(argv[2]);

    // Every successful zstdCompressFrame vector must have sent its frame.
    std::map<std::string, json> expected;
    for (const auto& v : vectors["vectors"])
        if (v["expect"].contains("zstdFrame"))
            expected[v["name"]] = v;

    int failures = 0, identical = 0, checked = 0;
    auto fail = [&](const std::string& name, const std::string& why) {
        std::cout << "FAIL " << name << ": " << why << "\n";
        ++failures;
    };
    for (const auto& f : made["frames"]) {
        const std::string name = f["name"];
        auto it = expected.find(name);
        if (it == expected.end()) {
            fail(name, "not a zstdCompressFrame vector of " + std::string(argv[1]));
            continue;
        }
        const json args = it->second["args"];
        expected.erase(it);
        ++checked;
        const Bytes input = arg_bytes(args.at(0));
        const auto frame = encoding::from_hex(f["frame"].get<std::string>());
        if (!frame) {
            fail(name, "frame is not hex");
            continue;
        }
        if (ZSTD_findFrameCompressedSize(frame->data(), frame->size()) != frame->size()) {
            fail(name, "not exactly one zstd frame");
            continue;
        }
        auto content_size = ZSTD_getFrameContentSize(frame->data(), frame->size());
        if (content_size != input.size()) {
            fail(name, "frame declares content size " + std::to_string(content_size) +
                           ", input has " + std::to_string(input.size()));
            continue;
        }
        auto raw = lab::zstd_decompress(*frame);
        if (!raw) {
            fail(name, "native libzstd " ZSTD_VERSION_STRING " refuses it: " + raw.error().detail);
            continue;
        }
        if (*raw != input) {
            fail(name, "decompresses natively to other bytes than the input");
            continue;
        }
        auto native = lab::zstd_compress_frame(input, args.at(1)["i32"].get<std::int32_t>());
        if (native && *native == *frame)
            ++identical;
    }
    for (const auto& [name, v] : expected)
        fail(name, "the wasm harness sent no frame for it");
    std::cout << "zstd frames made in wasm (zstd 1.5.7), checked with native libzstd "
              << ZSTD_versionString() << ": " << checked << " checked, " << identical
              << " byte-identical to the native frame, " << failures << " failed\n";
    return failures == 0 ? 0 : 1;
}
