// narinfo parser: errors are fine, crashes are not. Whatever parses must
// serialize to text that parses back to the same value (canonical round trip).
#include "nixedge/narinfo.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto info = nixedge::parse_narinfo(text);
    if (!info)
        return 0;
    auto serialized = nixedge::serialize_narinfo(*info);
    auto again = nixedge::parse_narinfo(serialized);
    if (!again || !(*again == *info) || nixedge::serialize_narinfo(*again) != serialized)
        std::abort();
    (void)nixedge::narinfo_fingerprint(*info);
    return 0;
}
