#include "nixedge/encoding.hpp"

#include <array>
#include <cstdint>

namespace nixedge::encoding {

namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";
constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Reverse lookup table for a printable alphabet; -1 marks characters outside it.
constexpr std::array<int, 256> reverse_table(std::string_view alphabet) {
    std::array<int, 256> table{};
    table.fill(-1);
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
    return table;
}

constexpr auto nix32_values = reverse_table(nix32_alphabet);
constexpr auto base64_values = reverse_table(base64_alphabet);

Error bad(std::string what) {
    return make_error(ErrorCode::invalid_encoding, std::move(what));
}

} // namespace

int hex_digit_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string to_hex(ByteView data) {
    std::string out;
    out.reserve(data.size() * 2);
    for (auto b : data) {
        out.push_back(hex_digits[b >> 4]);
        out.push_back(hex_digits[b & 0xf]);
    }
    return out;
}

Result<Bytes> from_hex(std::string_view text) {
    if (text.size() % 2 != 0)
        return bad("hex text has odd length " + std::to_string(text.size()));
    Bytes out(text.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = hex_digit_value(text[2 * i]);
        int lo = hex_digit_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return bad("invalid hex character at offset " +
                       std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return out;
}

bool is_nix32_char(char c) {
    return nix32_values[static_cast<unsigned char>(c)] >= 0;
}

std::string to_nix32(ByteView data) {
    std::size_t len = nix32_length(data.size());
    std::string out;
    out.reserve(len);
    for (std::size_t n = len; n-- > 0;) {
        std::size_t bit = n * 5;
        std::size_t i = bit / 8;
        std::size_t j = bit % 8;
        unsigned value = data[i] >> j;
        if (i + 1 < data.size())
            value |= static_cast<unsigned>(data[i + 1]) << (8 - j);
        out.push_back(nix32_alphabet[value & 0x1f]);
    }
    return out;
}

Result<Bytes> from_nix32(std::string_view text, std::size_t byte_count) {
    // 64-bit arithmetic, not nix32_length(): with a 32-bit size_t (wasm32)
    // byte_count * 8 wraps, and a wrapped length of 0 let "" decode to
    // byte_count zero bytes.
    std::uint64_t expected = (std::uint64_t{byte_count} * 8 + 4) / 5;
    if (text.size() != expected)
        return bad("nix32 text has length " + std::to_string(text.size()) + ", expected " +
                   std::to_string(expected));
    Bytes out(byte_count, 0);
    for (std::size_t n = 0; n < text.size(); ++n) {
        char c = text[text.size() - n - 1];
        int digit = nix32_values[static_cast<unsigned char>(c)];
        if (digit < 0)
            return bad(std::string("invalid nix32 character '") + c + "'");
        std::size_t bit = n * 5;
        std::size_t i = bit / 8;
        std::size_t j = bit % 8;
        out[i] |= static_cast<std::uint8_t>(digit << j);
        unsigned carry = static_cast<unsigned>(digit) >> (8 - j);
        if (i + 1 < byte_count)
            out[i + 1] |= static_cast<std::uint8_t>(carry);
        else if (carry != 0)
            return bad("nix32 text encodes more than " + std::to_string(byte_count) + " bytes");
    }
    return out;
}

std::string to_base64(ByteView data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = data[i] << 16 | data[i + 1] << 8 | data[i + 2];
        out.push_back(base64_alphabet[v >> 18 & 63]);
        out.push_back(base64_alphabet[v >> 12 & 63]);
        out.push_back(base64_alphabet[v >> 6 & 63]);
        out.push_back(base64_alphabet[v & 63]);
    }
    std::size_t rest = data.size() - i;
    if (rest > 0) {
        std::uint32_t v = data[i] << 16 | (rest == 2 ? data[i + 1] << 8 : 0);
        out.push_back(base64_alphabet[v >> 18 & 63]);
        out.push_back(base64_alphabet[v >> 12 & 63]);
        out.push_back(rest == 2 ? base64_alphabet[v >> 6 & 63] : '=');
        out.push_back('=');
    }
    return out;
}

Result<Bytes> from_base64(std::string_view text) {
    if (text.size() % 4 != 0)
        return bad("base64 text length " + std::to_string(text.size()) + " is not a multiple of 4");
    std::size_t padding = 0;
    if (!text.empty() && text.back() == '=')
        padding = text[text.size() - 2] == '=' ? 2 : 1;
    Bytes out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last_group = i + 4 == text.size();
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            char c = text[i + k];
            bool is_pad = last_group && k >= 4 - padding;
            int digit = is_pad ? 0 : base64_values[static_cast<unsigned char>(c)];
            if (digit < 0 || (is_pad && c != '='))
                return bad("invalid base64 character at offset " + std::to_string(i + k));
            v = v << 6 | static_cast<std::uint32_t>(digit);
        }
        out.push_back(static_cast<std::uint8_t>(v >> 16));
        if (!last_group || padding < 2)
            out.push_back(static_cast<std::uint8_t>(v >> 8));
        if (!last_group || padding < 1)
            out.push_back(static_cast<std::uint8_t>(v));
        // Strict: the bits dropped by padding must be zero, so each byte string has
        // exactly one encoding.
        if (last_group && ((padding == 1 && (v & 0xff)) || (padding == 2 && (v & 0xffff))))
            return bad("base64 text has non-zero padding bits");
    }
    return out;
}

} // namespace nixedge::encoding
