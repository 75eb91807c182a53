#include "config/secrets.hpp"

#include "nixedge/encoding.hpp"

#include <string>
#include <utility>

namespace nixedge::lab {
namespace {

std::string_view trim_whitespace(std::string_view text) {
    constexpr std::string_view whitespace = " \t\r\n";
    auto first = text.find_first_not_of(whitespace);
    if (first == std::string_view::npos)
        return {};
    auto last = text.find_last_not_of(whitespace);
    return text.substr(first, last - first + 1);
}

Error bad(std::string_view variable, const std::string& why) {
    return make_error(ErrorCode::invalid_argument, std::string(variable) + " " + why);
}

using Decoder = Result<Bytes> (*)(std::string_view);

// One variable: nullopt if unset, else its decoded, length-checked key.
Result<std::optional<Bytes>> read_one(const Environment& env, std::string_view variable,
                                      Decoder decode, std::string_view encoding) {
    auto value = env.get(variable);
    if (!value)
        return std::optional<Bytes>{};
    auto text = trim_whitespace(*value);
    if (text.empty())
        return bad(variable, "is set but empty");
    auto key = decode(text);
    if (!key)
        return bad(variable, "is not valid " + std::string(encoding) + ": " + key.error().detail);
    if (key->size() < min_token_secret_bytes)
        return bad(variable, "decodes to " + std::to_string(key->size()) + " bytes; at least " +
                                 std::to_string(min_token_secret_bytes) +
                                 " are needed (make one with `openssl rand -hex 32`)");
    return std::optional<Bytes>(std::move(key.value()));
}

} // namespace

Result<std::optional<Bytes>> read_token_secret(const Environment& env) {
    auto from_hex = read_one(env, token_secret_hex_variable, encoding::from_hex, "hex");
    if (!from_hex)
        return from_hex.error();
    auto from_base64 = read_one(env, token_secret_base64_variable, encoding::from_base64, "base64");
    if (!from_base64)
        return from_base64.error();
    if (*from_hex && *from_base64 && **from_hex != **from_base64)
        return make_error(ErrorCode::invalid_argument,
                          std::string(token_secret_hex_variable) + " and " +
                              std::string(token_secret_base64_variable) +
                              " are both set and hold different keys; set only one");
    return *from_hex ? std::move(from_hex.value()) : std::move(from_base64.value());
}

Result<S3Credentials> read_s3_credentials(const Environment& env) {
    S3Credentials credentials;
    std::string missing;
    for (auto [variable, out] :
         {std::pair{s3_access_key_id_variable, &credentials.access_key_id},
          std::pair{s3_secret_access_key_variable, &credentials.secret_access_key}}) {
        auto value = env.get(variable);
        auto text = value ? trim_whitespace(*value) : std::string_view{};
        if (text.empty())
            missing += (missing.empty() ? "" : " and ") + std::string(variable);
        else
            *out = std::string(text);
    }
    if (!missing.empty())
        return make_error(ErrorCode::invalid_argument,
                          "storage.type is \"s3\" but " + missing +
                              (missing.find(" and ") != std::string::npos ? " are" : " is") +
                              " unset or empty (the S3 credentials come from the environment)");
    return credentials;
}

} // namespace nixedge::lab
