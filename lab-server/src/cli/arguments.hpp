// The arguments of one subcommand, checked against the options it declares:
// `--name` (a flag), `--name VALUE` or `--name=VALUE` (a value, once), a
// repeatable value option, and positionals. `--` ends the options. Anything
// else that starts with '-' is an unknown option: a usage error, never a
// positional, so a mistyped flag cannot become a cache name.
#pragma once

#include "nixedge/result.hpp"

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::cli {

enum class OptionKind {
    flag,     // --yes
    value,    // --priority N, at most once
    repeated, // --push PATTERN, any number of times, order kept
};

struct OptionSpec {
    std::string_view name; // without the leading "--"
    OptionKind kind = OptionKind::flag;
    std::string_view value_name; // "N", "DURATION"; empty for flags
    std::string_view help;       // one line, for `<command> --help`
};

class ParsedArguments {
  public:
    bool has(std::string_view option) const;
    // The value of a value option, nullopt when it was not given.
    std::optional<std::string> value(std::string_view option) const;
    // Every value of a repeated option, in command-line order.
    std::vector<std::string> values(std::string_view option) const;
    const std::vector<std::string>& positionals() const { return positionals_; }

  private:
    friend Result<ParsedArguments> parse_arguments(std::span<const std::string> args,
                                                   std::span<const OptionSpec> options);
    std::map<std::string, std::vector<std::string>, std::less<>> options_;
    std::vector<std::string> positionals_;
};

// invalid_argument (a usage error) for an unknown option, a missing value or
// a value option given twice.
Result<ParsedArguments> parse_arguments(std::span<const std::string> args,
                                        std::span<const OptionSpec> options);

} // namespace nixedge::lab::cli
