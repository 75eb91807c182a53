#include "cli/arguments.hpp"

#include <algorithm>

namespace nixedge::lab::cli {
namespace {

Error usage(std::string message) {
    return make_error(ErrorCode::invalid_argument, std::move(message));
}

const OptionSpec* find_option(std::span<const OptionSpec> options, std::string_view name) {
    auto found = std::find_if(options.begin(), options.end(),
                              [&](const OptionSpec& spec) { return spec.name == name; });
    return found == options.end() ? nullptr : &*found;
}

} // namespace

bool ParsedArguments::has(std::string_view option) const {
    return options_.find(option) != options_.end();
}

std::optional<std::string> ParsedArguments::value(std::string_view option) const {
    auto found = options_.find(option);
    if (found == options_.end() || found->second.empty())
        return std::nullopt;
    return found->second.front();
}

std::vector<std::string> ParsedArguments::values(std::string_view option) const {
    auto found = options_.find(option);
    return found == options_.end() ? std::vector<std::string>{} : found->second;
}

Result<ParsedArguments> parse_arguments(std::span<const std::string> args,
                                        std::span<const OptionSpec> options) {
    ParsedArguments parsed;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (options_ended || !arg.starts_with("-") || arg == "-") {
            parsed.positionals_.push_back(arg);
            continue;
        }
        if (arg == "--") {
            options_ended = true;
            continue;
        }
        if (!arg.starts_with("--"))
            return usage("unknown option '" + arg + "'");
        std::string_view body = std::string_view(arg).substr(2);
        std::optional<std::string> inline_value;
        if (auto equals = body.find('='); equals != std::string_view::npos) {
            inline_value = std::string(body.substr(equals + 1));
            body = body.substr(0, equals);
        }
        const OptionSpec* spec = find_option(options, body);
        if (spec == nullptr)
            return usage("unknown option '--" + std::string(body) + "'");
        auto& slot = parsed.options_[std::string(body)];
        if (spec->kind == OptionKind::flag) {
            if (inline_value)
                return usage("option '--" + std::string(body) + "' takes no value");
            continue; // present; given twice is the same as once
        }
        if (!inline_value) {
            if (i + 1 == args.size())
                return usage("option '--" + std::string(body) + "' needs a value (" +
                             std::string(spec->value_name) + ")");
            inline_value = args[++i];
        }
        if (spec->kind == OptionKind::value && !slot.empty())
            return usage("option '--" + std::string(body) + "' given more than once");
        slot.push_back(std::move(*inline_value));
    }
    return parsed;
}

} // namespace nixedge::lab::cli
