// The narinfo upload path of the lab server (PUT /<cache>/<hash>.narinfo):
// parse what the client sent, then make the cache's signed narinfo from it.
// Errors are fine, crashes are not; and whatever is accepted must come out
// as a narinfo that parses back, names the manifest, and verifies with the
// cache's key, while a NAR with another hash is always refused.
#include "push/publish.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/keys.hpp"

#include <cstdlib>

using namespace nixedge;

namespace {

const SecretKey& cache_key() {
    static const SecretKey key = [] {
        Bytes seed(32, 7);
        return secret_key_from_seed("fuzz-1", seed).value();
    }();
    return key;
}

lab::Cache fuzz_cache() {
    lab::Cache cache;
    cache.name = "fuzz";
    cache.keys.push_back({"fuzz-1", cache_key().to_string(), cache_key().public_key().to_string(),
                          lab::KeyState::active, 0});
    return cache;
}

void check(bool ok) {
    if (!ok)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    // The URL's hash part comes from the input too, so mismatches are explored.
    auto hash = text.substr(0, std::min<std::size_t>(32, text.size()));
    auto pushed = lab::parse_pushed_narinfo(text.size() > 32 ? text.substr(32) : text, hash);
    if (!pushed)
        return 0;
    check(pushed->store_path.hash == hash);
    static const auto cache = fuzz_cache();
    lab::NarRecord nar;
    nar.manifest_hash = Sha256::digest(as_bytes(text));
    nar.nar_hash = pushed->nar_hash.digest;
    nar.nar_size = pushed->nar_size;
    nar.file_size = size;
    auto info = lab::make_cache_narinfo(*pushed, nar, cache);
    check(info.ok());
    auto served = parse_narinfo(serialize_narinfo(*info));
    check(served.ok() && *served == *info);
    check(served->url == nar_url(nar.manifest_hash) && served->compression == "zstd");
    TrustedKeys trusted;
    check(trusted.add(cache_key().public_key()).ok());
    check(verify_narinfo(*served, trusted) == std::optional<std::string>("fuzz-1"));

    nar.nar_size += 1;
    check(!lab::make_cache_narinfo(*pushed, nar, cache));
    return 0;
}
