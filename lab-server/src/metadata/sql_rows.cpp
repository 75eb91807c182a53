#include "metadata/sql_rows.hpp"

#include "nixedge/encoding.hpp"

#include <algorithm>
#include <sstream>

namespace nixedge::lab::sql_rows {

std::string hex(const Sha256Digest& digest) {
    return encoding::to_hex(digest);
}

Result<Sha256Digest> digest_from_hex(std::string_view text) {
    auto bytes = encoding::from_hex(text);
    if (!bytes || bytes->size() != 32)
        return make_error(ErrorCode::internal,
                          "the database holds a malformed hash '" + std::string(text) + "'");
    Sha256Digest digest{};
    std::copy(bytes->begin(), bytes->end(), digest.begin());
    return digest;
}

std::string_view to_db(KeyState state) {
    return to_string(state);
}

std::string_view to_db(OutboxOp op) {
    return to_string(op);
}

std::vector<std::string> split_names(const std::string& text) {
    std::vector<std::string> names;
    std::istringstream in(text);
    for (std::string name; in >> name;)
        names.push_back(name);
    return names;
}

} // namespace nixedge::lab::sql_rows
