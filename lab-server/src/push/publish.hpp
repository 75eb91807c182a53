// Publishing a pushed path: the narinfo the server serves is built here from
// the client's path info (store path, references, deriver, system, CA) and
// the recorded NAR (URL naming the manifest, zstd, FileSize), and signed with
// every key of the cache. Client signatures are ignored: the cache vouches
// for what it serves with its own keys.
#pragma once

#include "metadata/metadata_store.hpp"
#include "nixedge/narinfo.hpp"

namespace nixedge::lab {

// A narinfo as a client PUTs it to /<cache>/<hash>.narinfo: Nix's text, for
// the store path whose hash part is `store_hash` (invalid_narinfo otherwise).
Result<NarInfo> parse_pushed_narinfo(std::string_view text, std::string_view store_hash);

// invalid_nar when the client's NarHash or NarSize is not the uploaded NAR's.
Result<NarInfo> make_cache_narinfo(const NarInfo& client, const NarRecord& nar, const Cache& cache);

} // namespace nixedge::lab
