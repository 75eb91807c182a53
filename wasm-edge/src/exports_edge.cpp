// The edge operations' C ABI: one ne_* wrapper per nixedge::edge operation,
// nothing else. In both modules (nixedge-edge.wasm and nixedge-core.wasm); the
// convention is in abi.cpp, the work in operations_edge.cpp.
#include "abi.hpp"
#include "operations.hpp"

using namespace nixedge;
using abi::Input;
using abi::run;

NE_EXPORT(ne_hex_encode) std::int32_t ne_hex_encode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::hex_encode(in.bytes()); });
}

NE_EXPORT(ne_hex_decode) std::int32_t ne_hex_decode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::hex_decode(in.bytes()); });
}

NE_EXPORT(ne_nix32_encode) std::int32_t ne_nix32_encode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::nix32_encode(in.bytes()); });
}

NE_EXPORT(ne_nix32_decode)
std::int32_t ne_nix32_decode(const std::uint8_t* p, std::size_t n, std::uint32_t byte_count) {
    Input in{p, n};
    return run({in}, [&] { return edge::nix32_decode(in.bytes(), byte_count); });
}

NE_EXPORT(ne_base64_encode) std::int32_t ne_base64_encode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::base64_encode(in.bytes()); });
}

NE_EXPORT(ne_base64_decode) std::int32_t ne_base64_decode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::base64_decode(in.bytes()); });
}

NE_EXPORT(ne_sha256) std::int32_t ne_sha256(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::sha256(in.bytes()); });
}

NE_EXPORT(ne_narinfo_parse) std::int32_t ne_narinfo_parse(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::narinfo_parse(in.bytes()); });
}

NE_EXPORT(ne_narinfo_canonical)
std::int32_t ne_narinfo_canonical(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::narinfo_canonical(in.bytes()); });
}

NE_EXPORT(ne_narinfo_fingerprint)
std::int32_t ne_narinfo_fingerprint(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::narinfo_fingerprint(in.bytes()); });
}

NE_EXPORT(ne_narinfo_verify)
std::int32_t ne_narinfo_verify(const std::uint8_t* p, std::size_t n, const std::uint8_t* keys_p,
                               std::size_t keys_n) {
    Input in{p, n}, keys{keys_p, keys_n};
    return run({in, keys}, [&] { return edge::narinfo_verify(in.bytes(), keys.bytes()); });
}

NE_EXPORT(ne_public_key_parse)
std::int32_t ne_public_key_parse(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::public_key_parse(in.bytes()); });
}

NE_EXPORT(ne_signature_verify)
std::int32_t ne_signature_verify(const std::uint8_t* key_p, std::size_t key_n,
                                 const std::uint8_t* msg_p, std::size_t msg_n,
                                 const std::uint8_t* sig_p, std::size_t sig_n) {
    Input key{key_p, key_n}, message{msg_p, msg_n}, signature{sig_p, sig_n};
    return run({key, message, signature}, [&] {
        return edge::signature_verify(key.bytes(), message.bytes(), signature.bytes());
    });
}

NE_EXPORT(ne_manifest_decode)
std::int32_t ne_manifest_decode(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::manifest_decode(in.bytes()); });
}

NE_EXPORT(ne_manifest_name) std::int32_t ne_manifest_name(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::manifest_name(in.bytes()); });
}

NE_EXPORT(ne_range_plan)
std::int32_t ne_range_plan(const std::uint8_t* manifest_p, std::size_t manifest_n,
                           const std::uint8_t* range_p, std::size_t range_n) {
    Input manifest{manifest_p, manifest_n}, range{range_p, range_n};
    return run({manifest, range},
               [&] { return edge::range_plan(manifest.bytes(), range.bytes()); });
}

NE_EXPORT(ne_store_path_parse)
std::int32_t ne_store_path_parse(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::store_path_parse(in.bytes()); });
}

NE_EXPORT(ne_cache_name_validate)
std::int32_t ne_cache_name_validate(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::cache_name_validate(in.bytes()); });
}

NE_EXPORT(ne_nar_url_parse) std::int32_t ne_nar_url_parse(const std::uint8_t* p, std::size_t n) {
    Input in{p, n};
    return run({in}, [&] { return edge::nar_url_parse(in.bytes()); });
}

NE_EXPORT(ne_bucket_key)
std::int32_t ne_bucket_key(const std::uint8_t* kind_p, std::size_t kind_n,
                           const std::uint8_t* cache_p, std::size_t cache_n,
                           const std::uint8_t* hash_p, std::size_t hash_n) {
    Input kind{kind_p, kind_n}, cache{cache_p, cache_n}, hash{hash_p, hash_n};
    return run({kind, cache, hash},
               [&] { return edge::bucket_key(kind.bytes(), cache.bytes(), hash.bytes()); });
}

NE_EXPORT(ne_route)
std::int32_t ne_route(const std::uint8_t* path_p, std::size_t path_n, const std::uint8_t* cache_p,
                      std::size_t cache_n) {
    Input path{path_p, path_n}, cache{cache_p, cache_n};
    return run({path, cache}, [&] { return edge::route(path.bytes(), cache.bytes()); });
}

NE_EXPORT(ne_narinfo_check)
std::int32_t ne_narinfo_check(const std::uint8_t* p, std::size_t n, const std::uint8_t* keys_p,
                              std::size_t keys_n, const std::uint8_t* hash_p, std::size_t hash_n) {
    Input in{p, n}, keys{keys_p, keys_n}, hash{hash_p, hash_n};
    return run({in, keys, hash},
               [&] { return edge::narinfo_check(in.bytes(), keys.bytes(), hash.bytes()); });
}

NE_EXPORT(ne_nar_plan)
std::int32_t ne_nar_plan(const std::uint8_t* manifest_p, std::size_t manifest_n,
                         const std::uint8_t* name_p, std::size_t name_n,
                         const std::uint8_t* range_p, std::size_t range_n) {
    Input manifest{manifest_p, manifest_n}, name{name_p, name_n}, range{range_p, range_n};
    return run({manifest, name, range},
               [&] { return edge::nar_plan(manifest.bytes(), name.bytes(), range.bytes()); });
}
