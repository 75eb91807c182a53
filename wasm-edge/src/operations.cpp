#include "operations.hpp"

#include "nixedge/encoding.hpp"
#include "nixedge/sha256.hpp"

namespace nixedge::edge {

std::string hex_encode(ByteView data) { return encoding::to_hex(data); }
Result<Bytes> hex_decode(ByteView text) { return encoding::from_hex(as_chars(text)); }

std::string nix32_encode(ByteView data) { return encoding::to_nix32(data); }
Result<Bytes> nix32_decode(ByteView text, std::uint32_t byte_count) {
    return encoding::from_nix32(as_chars(text), byte_count);
}

std::string base64_encode(ByteView data) { return encoding::to_base64(data); }
Result<Bytes> base64_decode(ByteView text) { return encoding::from_base64(as_chars(text)); }

Bytes sha256(ByteView data) {
    auto digest = Sha256::digest(data);
    return Bytes(digest.begin(), digest.end());
}

} // namespace nixedge::edge
