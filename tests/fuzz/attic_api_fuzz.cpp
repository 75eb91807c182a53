// Attic's JSON wire types as the lab server reads them from clients
// (lab-server/src/attic/api_types.hpp): the upload info, the missing-paths
// request, the cache configuration and creation requests. Errors are fine,
// crashes are not; and whatever is accepted must serialize to JSON that
// parses back to the same thing, and an accepted upload info must turn into
// a narinfo that Nix's serializer and parser agree on.
#include "attic/api_types.hpp"

#include <cstdlib>
#include <string_view>

using namespace nixedge;
using namespace nixedge::lab;

namespace {

void check(bool ok) {
    if (!ok)
        std::abort();
}

template <class Parse> void round_trip(std::string_view text, Parse parse) {
    auto parsed = parse(text);
    if (!parsed)
        return;
    auto again = parse(attic::serialize(*parsed));
    check(again.ok());
    check(attic::serialize(*again) == attic::serialize(*parsed));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    round_trip(text, attic::parse_upload_path_info);
    round_trip(text, attic::parse_get_missing_paths_request);
    round_trip(text, attic::parse_get_missing_paths_response);
    round_trip(text, attic::parse_cache_config);
    round_trip(text, attic::parse_create_cache_request);
    round_trip(text, attic::parse_upload_path_result);
    (void)attic::parse_api_error(text);
    if (auto info = attic::parse_upload_path_info(text)) {
        if (auto narinfo = attic::to_narinfo(*info)) {
            narinfo->url = "nar/x.nar.zst";
            auto parsed = parse_narinfo(serialize_narinfo(*narinfo));
            check(parsed.ok());
            check(parsed->store_path == narinfo->store_path);
            check(parsed->references == narinfo->references);
        }
    }
    return 0;
}
