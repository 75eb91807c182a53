#include "client/nix_conf.hpp"

#include <algorithm>
#include <optional>
#include <sstream>
#include <vector>

namespace nixedge::lab::client {
namespace {

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        lines.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines)
        text += line + "\n";
    return text;
}

std::vector<std::string> words_of(std::string_view text) {
    std::istringstream stream{std::string(text)};
    std::vector<std::string> words;
    for (std::string word; stream >> word;)
        words.push_back(word);
    return words;
}

// The value part of "key = value" when the line sets `key`.
std::optional<std::string_view> value_of(std::string_view line, std::string_view key) {
    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || !line.substr(start).starts_with(key))
        return std::nullopt;
    std::string_view rest = line.substr(start + key.size());
    std::size_t equals = rest.find_first_not_of(" \t");
    if (equals == std::string_view::npos || rest[equals] != '=')
        return std::nullopt;
    return rest.substr(equals + 1);
}

} // namespace

std::string add_to_nix_conf_list(std::string_view text, std::string_view key,
                                 std::string_view value) {
    auto lines = split_lines(text);
    for (auto& line : lines) {
        auto current = value_of(line, key);
        if (!current)
            continue;
        auto words = words_of(*current);
        if (std::find(words.begin(), words.end(), value) != words.end())
            return join_lines(lines);
        line = std::string(key) + " =";
        for (const auto& word : words)
            line += " " + word;
        line += " " + std::string(value);
        return join_lines(lines);
    }
    lines.push_back(std::string(key) + " = " + std::string(value));
    return join_lines(lines);
}

std::string set_nix_conf_value(std::string_view text, std::string_view key,
                               std::string_view value) {
    auto lines = split_lines(text);
    std::string wanted = std::string(key) + " = " + std::string(value);
    for (auto& line : lines)
        if (value_of(line, key)) {
            line = wanted;
            return join_lines(lines);
        }
    lines.push_back(wanted);
    return join_lines(lines);
}

std::string set_netrc_token(std::string_view text, std::string_view host, std::string_view token) {
    auto lines = split_lines(text);
    std::string wanted = "machine " + std::string(host) + " password " + std::string(token);
    for (auto& line : lines) {
        auto words = words_of(line);
        if (words.size() >= 2 && words[0] == "machine" && words[1] == host) {
            line = wanted;
            return join_lines(lines);
        }
    }
    lines.push_back(wanted);
    return join_lines(lines);
}

Result<std::string> host_of_url(std::string_view url) {
    std::size_t scheme = url.find("://");
    if (scheme == std::string_view::npos)
        return make_error(ErrorCode::invalid_argument, "'" + std::string(url) + "' is not a URL");
    std::string_view rest = url.substr(scheme + 3);
    rest = rest.substr(0, rest.find('/'));
    if (rest.starts_with('[')) // [::1]:8080
        rest = rest.substr(0, rest.find(']') + 1);
    else
        rest = rest.substr(0, rest.find(':'));
    if (rest.empty())
        return make_error(ErrorCode::invalid_argument, "'" + std::string(url) + "' names no host");
    return std::string(rest);
}

} // namespace nixedge::lab::client
