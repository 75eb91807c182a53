// Text encodings of binary data as Nix uses them: hex, Nix's base32 and base64.
// Decoders are strict: they reject anything the encoder would not produce.
#pragma once

#include "nixedge/bytes.hpp"
#include "nixedge/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace nixedge::encoding {

std::string to_hex(ByteView data);
// 0-15 for [0-9a-fA-F], else -1.
int hex_digit_value(char c);
Result<Bytes> from_hex(std::string_view text);

// Nix's base32: alphabet 0123456789abcdfghijklmnpqrsvwxyz, least significant
// 5-bit group first, printed most significant character first.
inline constexpr std::string_view nix32_alphabet = "0123456789abcdfghijklmnpqrsvwxyz";
constexpr std::size_t nix32_length(std::size_t byte_count) {
    return (byte_count * 8 + 4) / 5;
}
std::string to_nix32(ByteView data);
// `byte_count` fixes the output length; text of any other length is rejected,
// as are high bits set beyond byte_count * 8.
Result<Bytes> from_nix32(std::string_view text, std::size_t byte_count);
bool is_nix32_char(char c);

// Standard base64 with '=' padding (RFC 4648 section 4), as in Nix keys and Sig lines.
std::string to_base64(ByteView data);
Result<Bytes> from_base64(std::string_view text);

} // namespace nixedge::encoding
