#include "auth/deny_list.hpp"

#include "nixedge/encoding.hpp"
#include "nixedge/sha256.hpp"

namespace nixedge::lab {

std::string token_id(std::string_view token) {
    return encoding::to_hex(Sha256::digest(as_bytes(token)));
}

bool DenyList::denies(const std::optional<std::string>& subject, std::string_view id) const {
    return token_ids_.contains(id) || (subject && subjects_.contains(*subject));
}

} // namespace nixedge::lab
