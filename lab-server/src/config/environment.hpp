// Environment variables behind an interface, so configuration code reads the
// real process environment in the server and a fixed map in tests.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace nixedge::lab {

class Environment {
  public:
    virtual ~Environment() = default;
    // nullopt when the variable is not set (set but empty is "").
    virtual std::optional<std::string> get(std::string_view name) const = 0;
};

class ProcessEnvironment final : public Environment {
  public:
    std::optional<std::string> get(std::string_view name) const override;
};

class FixedEnvironment final : public Environment {
  public:
    FixedEnvironment() = default;
    FixedEnvironment(std::initializer_list<std::pair<const std::string, std::string>> variables)
        : variables_(variables) {}

    void set(std::string name, std::string value) {
        variables_.insert_or_assign(std::move(name), std::move(value));
    }
    std::optional<std::string> get(std::string_view name) const override;

  private:
    std::map<std::string, std::string, std::less<>> variables_;
};

} // namespace nixedge::lab
