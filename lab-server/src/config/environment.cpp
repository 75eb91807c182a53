#include "config/environment.hpp"

#include <cstdlib>

namespace nixedge::lab {

std::optional<std::string> ProcessEnvironment::get(std::string_view name) const {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr)
        return std::nullopt;
    return std::string(value);
}

std::optional<std::string> FixedEnvironment::get(std::string_view name) const {
    auto found = variables_.find(name);
    if (found == variables_.end())
        return std::nullopt;
    return found->second;
}

} // namespace nixedge::lab
