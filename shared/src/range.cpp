#include "nixedge/range.hpp"

#include <algorithm>
#include <limits>
#include <vector>

namespace nixedge {

namespace {

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();

bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view text) {
    while (!text.empty() && is_ows(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_ows(text.back()))
        text.remove_suffix(1);
    return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        };
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

// 1*DIGIT. A number too large for 64 bits saturates: any position that large
// is past the end of every body, which gives the right answer without a limit.
std::optional<std::uint64_t> parse_digits(std::string_view text) {
    if (text.empty())
        return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        auto digit = static_cast<std::uint64_t>(c - '0');
        value = value > (saturated - digit) / 10 ? saturated : value * 10 + digit;
    }
    return value;
}

// The non-empty elements of a comma-separated list (RFC 9110 5.6.1: empty
// elements and whitespace around commas are allowed and ignored).
std::vector<std::string_view> list_elements(std::string_view text) {
    std::vector<std::string_view> elements;
    while (true) {
        auto comma = text.find(',');
        auto element = trim_ows(text.substr(0, comma));
        if (!element.empty())
            elements.push_back(element);
        if (comma == std::string_view::npos)
            return elements;
        text.remove_prefix(comma + 1);
    }
}

// A syntactically valid range-spec, before it meets the body's length.
struct RangeSpec {
    std::optional<std::uint64_t> first; // absent for a suffix range
    std::optional<std::uint64_t> last;  // last-pos, or the suffix length
};

std::optional<RangeSpec> parse_range_spec(std::string_view text) {
    auto dash = text.find('-');
    if (dash == std::string_view::npos)
        return std::nullopt;
    auto first_text = text.substr(0, dash);
    auto last_text = text.substr(dash + 1);
    RangeSpec spec;
    if (!first_text.empty()) {
        spec.first = parse_digits(first_text);
        if (!spec.first)
            return std::nullopt;
    }
    if (!last_text.empty()) {
        spec.last = parse_digits(last_text);
        if (!spec.last)
            return std::nullopt;
    }
    if (!spec.first && !spec.last)
        return std::nullopt; // "-" alone
    if (spec.first && spec.last && *spec.last < *spec.first)
        return std::nullopt; // invalid per RFC 9110 14.1.1, so the header is ignored
    return spec;
}

Error unsatisfiable(std::uint64_t total_length) {
    return make_error(ErrorCode::range_not_satisfiable, "range not satisfiable for a body of " +
                                                            std::to_string(total_length) +
                                                            " bytes");
}

} // namespace

Result<std::optional<ByteRange>> parse_range_header(std::string_view header_value,
                                                    std::uint64_t total_length) {
    const std::optional<ByteRange> whole_body;
    auto value = trim_ows(header_value);
    auto equals = value.find('=');
    if (equals == std::string_view::npos || !equals_ignoring_case(value.substr(0, equals), "bytes"))
        return whole_body;
    auto specs = list_elements(value.substr(equals + 1));
    if (specs.size() != 1)
        return whole_body;
    auto spec = parse_range_spec(specs[0]);
    if (!spec)
        return whole_body;

    if (!spec->first) { // suffix: the last n bytes
        if (*spec->last == 0 || total_length == 0)
            return unsatisfiable(total_length);
        std::uint64_t length = std::min(*spec->last, total_length);
        return std::optional<ByteRange>(ByteRange{total_length - length, total_length - 1});
    }
    if (*spec->first >= total_length)
        return unsatisfiable(total_length);
    std::uint64_t last = spec->last ? std::min(*spec->last, total_length - 1) : total_length - 1;
    return std::optional<ByteRange>(ByteRange{*spec->first, last});
}

std::string content_range(const ByteRange& range, std::uint64_t total_length) {
    return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
           std::to_string(total_length);
}

std::string content_range_unsatisfied(std::uint64_t total_length) {
    return "bytes */" + std::to_string(total_length);
}

ByteSlice ChunkSpan::slice(std::uint64_t index, std::uint64_t stored_size) const {
    return {index == first_chunk ? first_offset : 0, index == last_chunk ? last_end : stored_size};
}

Result<ChunkSpan> plan_chunk_span(const ChunkManifest& manifest, const ByteRange& range) {
    std::uint64_t total = manifest.stored_size();
    if (range.first > range.last || range.last >= total)
        return make_error(ErrorCode::invalid_argument, "byte range " + std::to_string(range.first) +
                                                           "-" + std::to_string(range.last) +
                                                           " is not within the " +
                                                           std::to_string(total) + " stored bytes");
    ChunkSpan span;
    std::uint64_t chunk_start = 0; // offset of chunk i's frame in the concatenation
    for (std::uint64_t i = 0; i < manifest.chunks.size(); ++i) {
        std::uint64_t chunk_end = chunk_start + manifest.chunks[i].stored_size;
        if (range.first >= chunk_start && range.first < chunk_end) {
            span.first_chunk = i;
            span.first_offset = range.first - chunk_start;
        }
        if (range.last < chunk_end) {
            span.last_chunk = i;
            span.last_end = range.last + 1 - chunk_start;
            return span;
        }
        chunk_start = chunk_end;
    }
    return make_error(ErrorCode::internal, "unreachable: range.last is below the stored total");
}

} // namespace nixedge
