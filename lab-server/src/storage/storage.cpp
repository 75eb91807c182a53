#include "storage/storage.hpp"

#include <string>

namespace nixedge::lab {

namespace {

Error bad_key(std::string_view key, std::string_view why) {
    return make_error(ErrorCode::invalid_argument,
                      "object key '" + std::string(key) + "' " + std::string(why));
}

bool is_forbidden_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '\\';
}

} // namespace

Result<void> validate_object_key(std::string_view key) {
    if (key.empty())
        return bad_key(key, "is empty");
    if (key.size() > max_object_key_length)
        return bad_key(key.substr(0, 64), "is too long");
    for (char c : key)
        if (is_forbidden_char(c))
            return bad_key(key, "contains a backslash or a control character");
    std::size_t start = 0;
    while (start <= key.size()) {
        auto end = key.find('/', start);
        if (end == std::string_view::npos)
            end = key.size();
        auto segment = key.substr(start, end - start);
        if (segment.empty())
            return bad_key(key, "has an empty segment (leading, trailing or double '/')");
        if (segment.front() == '.')
            return bad_key(key, "has a segment starting with '.'");
        start = end + 1;
    }
    return {};
}

Result<void> Storage::remove_many(std::span<const std::string> keys) {
    for (const auto& key : keys)
        if (auto ok = validate_object_key(key); !ok)
            return ok;
    for (const auto& key : keys)
        if (auto ok = remove(key); !ok)
            return ok;
    return {};
}

Result<Bytes> read_object(Storage& storage, std::string_view key, std::uint64_t max_size) {
    auto reader = storage.get(key);
    if (!reader)
        return reader.error();
    auto size = (*reader)->size();
    if (size > max_size)
        return make_error(ErrorCode::limit_exceeded, "object '" + std::string(key) + "' has " +
                                                         std::to_string(size) + " bytes, over " +
                                                         std::to_string(max_size));
    Bytes out(static_cast<std::size_t>(size));
    std::size_t filled = 0;
    while (filled < out.size()) {
        auto got = (*reader)->read(std::span(out).subspan(filled));
        if (!got)
            return got.error();
        if (*got == 0)
            return make_error(ErrorCode::storage_unavailable,
                              "object '" + std::string(key) + "' ended early");
        filled += *got;
    }
    return out;
}

} // namespace nixedge::lab
