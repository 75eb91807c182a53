// SHA-256 throughput and narinfo parse + Ed25519 verify latency (native).
#include "core_benches.hpp"

#include "bench_util.hpp"
#include "nixedge/narinfo.hpp"

namespace nixedge::bench {

double sha256_mb_per_s() {
    Bytes data(256u << 20);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint8_t>(i * 2654435761u >> 13);
    double seconds = median_seconds([&] {
        Sha256 hash;
        for (std::size_t at = 0; at < data.size(); at += 1 << 20)
            hash.update(ByteView(data).subspan(at, 1 << 20));
        keep(hash.finish());
    });
    return static_cast<double>(data.size()) / seconds / 1e6;
}

std::string sample_signed_narinfo(TrustedKeys& trusted) {
    auto key = secret_key_from_seed("bench-1", Bytes(32, 9));
    auto info = parse_narinfo(
        "StorePath: /nix/store/2ynly47pmpd4ldfa55lfh14224rj0wf7-nixedge-top\n"
        "URL: nar/0000000000000000000000000000000000000000000000000000000000000000.nar.zst\n"
        "Compression: zstd\n"
        "FileSize: 126664\n"
        "NarHash: sha256:1c895c13agd4178ia90b1i7v1f11d162jrrmraaya8c28354ncq1\n"
        "NarSize: 126664\n"
        "References: 5za2hn50p23x3plg2f352s6q0kp4qh1j-nixedge-text "
        "z1x7778cix14wkf9vyvv4cb11626crip-nixedge-dep\n"
        "Deriver: 9dfsc1xri4v5q8f908y62w56n60b132v-nixedge-top.drv\n");
    sign_narinfo(*info, *key);
    (void)trusted.add(key->public_key());
    return serialize_narinfo(*info);
}

double narinfo_parse_verify_us() {
    TrustedKeys trusted;
    auto text = sample_signed_narinfo(trusted);
    constexpr int iterations = 2000;
    double seconds = median_seconds([&] {
        for (int i = 0; i < iterations; ++i) {
            auto info = parse_narinfo(text);
            keep(verify_narinfo(*info, trusted));
        }
    });
    return seconds / iterations * 1e6;
}

} // namespace nixedge::bench
