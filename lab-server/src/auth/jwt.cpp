#include "auth/jwt.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>
#include <cstdint>

namespace nixedge::lab::jwt {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> decoding_table() {
    std::array<std::int8_t, 256> table{};
    table.fill(-1);
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return table;
}
constexpr auto sextet_of = decoding_table();

Error malformed(std::string why) {
    return make_error(ErrorCode::token_malformed, "token is malformed: " + why);
}

// The header is the one part read before the signature is known to be good.
Result<void> check_header(std::string_view header_part) {
    if (header_part.size() > max_header_length)
        return malformed("header longer than " + std::to_string(max_header_length) + " characters");
    auto bytes = base64url_decode(header_part);
    if (!bytes)
        return malformed("header is not base64url");
    auto header = nlohmann::json::parse(as_chars(*bytes), nullptr, /*allow_exceptions=*/false);
    if (!header.is_object())
        return malformed("header is not a JSON object");
    if (auto typ = header.find("typ"); typ != header.end() && !typ->is_null()) {
        if (!typ->is_string())
            return malformed("typ is not a string");
        std::string type = typ->get<std::string>();
        for (auto& c : type)
            c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
        if (type != "JWT" && !type.ends_with("+JWT"))
            return malformed("typ is not JWT");
    }
    auto alg = header.find("alg");
    if (alg == header.end() || !alg->is_string())
        return malformed("header has no alg");
    if (alg->get<std::string>() != "HS256")
        return make_error(ErrorCode::token_unsupported_algorithm,
                          "token algorithm \"" + alg->get<std::string>().substr(0, 16) +
                              "\" is not HS256");
    return {};
}

} // namespace

std::string base64url_encode(ByteView data) {
    std::string out;
    out.reserve((data.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t group = data[i] << 16 | data[i + 1] << 8 | data[i + 2];
        out += alphabet[group >> 18 & 63];
        out += alphabet[group >> 12 & 63];
        out += alphabet[group >> 6 & 63];
        out += alphabet[group & 63];
    }
    if (auto rest = data.size() - i; rest > 0) {
        std::uint32_t group = data[i] << 16 | (rest == 2 ? data[i + 1] << 8 : 0);
        out += alphabet[group >> 18 & 63];
        out += alphabet[group >> 12 & 63];
        if (rest == 2)
            out += alphabet[group >> 6 & 63];
    }
    return out;
}

Result<Bytes> base64url_decode(std::string_view text) {
    auto bad = [](std::string why) {
        return make_error(ErrorCode::invalid_encoding, "base64url: " + why);
    };
    if (text.size() % 4 == 1)
        return bad("length " + std::to_string(text.size()) + " cannot be base64url");
    Bytes out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto sextet = sextet_of[static_cast<unsigned char>(text[i])];
        if (sextet < 0)
            return bad("invalid character at offset " + std::to_string(i));
        bits = (bits << 6 | static_cast<std::uint32_t>(sextet)) & 0xffffff;
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out.push_back(static_cast<std::uint8_t>(bits >> bit_count));
        }
    }
    // What is left must be padding bits of the last character, all zero.
    if ((bits & ((1u << bit_count) - 1)) != 0)
        return bad("non-zero bits after the last byte");
    return out;
}

Result<Sha256Digest> hmac_sha256(ByteView key, ByteView message) {
    if (key.empty() || key.size() > INT_MAX)
        return make_error(ErrorCode::invalid_argument, "HMAC key must be 1 byte to 2 GiB");
    Sha256Digest out{};
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message.data(), message.size(),
             out.data(), &length) == nullptr ||
        length != out.size())
        return make_error(ErrorCode::internal, "HMAC-SHA256 failed in OpenSSL");
    return out;
}

Result<std::string> sign_hs256(ByteView secret, std::string_view payload_json) {
    auto signing_input =
        base64url_encode(as_bytes(hs256_header)) + "." + base64url_encode(as_bytes(payload_json));
    auto signature = hmac_sha256(secret, as_bytes(signing_input));
    if (!signature)
        return signature.error();
    return signing_input + "." + base64url_encode(*signature);
}

Result<std::string> verify_hs256(ByteView secret, std::string_view token) {
    if (token.size() > max_token_length)
        return malformed("longer than " + std::to_string(max_token_length) + " characters");
    auto first_dot = token.find('.');
    auto second_dot =
        first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
    if (second_dot == std::string_view::npos ||
        token.find('.', second_dot + 1) != std::string_view::npos)
        return malformed("not three dot-separated parts");
    auto header_part = token.substr(0, first_dot);
    auto payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
    auto signature_part = token.substr(second_dot + 1);

    if (auto header = check_header(header_part); !header)
        return header.error();
    // A server started without a secret accepts no token; it is not an internal failure.
    if (secret.empty())
        return make_error(ErrorCode::token_bad_signature, "no token secret is configured");
    auto signature = base64url_decode(signature_part);
    if (!signature)
        return malformed("signature is not base64url");
    auto expected = hmac_sha256(secret, as_bytes(token.substr(0, second_dot)));
    if (!expected)
        return expected.error();
    if (signature->size() != expected->size() ||
        CRYPTO_memcmp(signature->data(), expected->data(), expected->size()) != 0)
        return make_error(ErrorCode::token_bad_signature, "token signature does not match");

    auto payload = base64url_decode(payload_part);
    if (!payload)
        return malformed("payload is not base64url");
    return std::string(as_chars(*payload));
}

} // namespace nixedge::lab::jwt
