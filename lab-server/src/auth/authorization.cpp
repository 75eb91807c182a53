#include "auth/authorization.hpp"

#include "nixedge/encoding.hpp"

#include <algorithm>

namespace nixedge::lab {
namespace {

std::string_view trim_blanks(std::string_view text) {
    auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    auto lower = [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return std::ranges::equal(a, b, [&](char x, char y) { return lower(x) == lower(y); });
}

std::optional<std::string> non_empty(std::string_view token) {
    if (token.empty())
        return std::nullopt;
    return std::string(token);
}

std::optional<std::string> password_of_basic(std::string_view credentials_base64) {
    auto credentials = encoding::from_base64(credentials_base64);
    if (!credentials)
        return std::nullopt;
    auto text = as_chars(*credentials);
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    return non_empty(text.substr(colon + 1));
}

} // namespace

std::optional<std::string> token_from_authorization(std::string_view header_value) {
    auto value = trim_blanks(header_value);
    auto space = value.find_first_of(" \t");
    if (space == std::string_view::npos)
        return std::nullopt;
    auto scheme = value.substr(0, space);
    auto rest = trim_blanks(value.substr(space));
    if (equals_ignoring_case(scheme, "Bearer"))
        return non_empty(rest);
    if (equals_ignoring_case(scheme, "Basic"))
        return password_of_basic(rest);
    return std::nullopt;
}

} // namespace nixedge::lab
