#include "cli/dispatch.hpp"

#include <algorithm>
#include <iomanip>
#include <optional>
#include <sstream>

namespace nixedge::lab::cli {
namespace {

std::string synopsis(const CommandSpec& command) {
    std::string text(command.name);
    if (!command.operands.empty())
        text += " " + std::string(command.operands);
    return text;
}

std::string usage_prefix(const Program& program) {
    std::string text(program.name);
    if (!program.global_usage.empty())
        text += " " + std::string(program.global_usage);
    return text;
}

void print_usage(std::ostream& out, const Program& program, std::span<const CommandSpec> commands) {
    out << "Usage: " << usage_prefix(program) << " <command> [arguments]\n\n"
        << "Commands:\n";
    for (const auto& command : commands)
        out << "  " << synopsis(command) << "\n      " << command.summary << "\n";
    out << "  help [COMMAND]\n      print this text, or the options of COMMAND\n\n"
        << "Global options:\n"
        << program.global_options << "  --help, -h     print this text\n\n"
        << "Run '" << program.name << " <command> --help' for the options of a command.\n";
}

std::string option_label(const OptionSpec& option) {
    std::string label = "--" + std::string(option.name);
    if (option.kind != OptionKind::flag)
        label += " " + std::string(option.value_name);
    return label;
}

void print_command_help(std::ostream& out, const Program& program, const CommandSpec& command) {
    out << "Usage: " << usage_prefix(program) << " " << synopsis(command) << "\n\n"
        << command.summary << "\n";
    if (command.options.empty())
        return;
    std::size_t width = 0;
    for (const auto& option : command.options)
        width = std::max(width, option_label(option).size());
    out << "\nOptions:\n";
    for (const auto& option : command.options) {
        out << "  " << std::left << std::setw(static_cast<int>(width)) << option_label(option)
            << "  " << option.help;
        if (option.kind == OptionKind::repeated)
            out << " (repeatable)";
        out << "\n";
    }
}

// The command whose words start `args`, and how many words it took.
std::optional<std::pair<std::size_t, std::size_t>>
match_command(std::span<const CommandSpec> commands, std::span<const std::string> args) {
    for (std::size_t index = 0; index < commands.size(); ++index) {
        std::istringstream words{std::string(commands[index].name)};
        std::size_t taken = 0;
        bool matches = true;
        for (std::string word; words >> word; ++taken)
            if (taken >= args.size() || args[taken] != word) {
                matches = false;
                break;
            }
        if (matches)
            return std::pair{index, taken};
    }
    return std::nullopt;
}

// The commands whose first word is `word` ("cache": cache create, cache info, ...).
std::vector<const CommandSpec*> family_of(std::span<const CommandSpec> commands,
                                          std::string_view word) {
    std::vector<const CommandSpec*> family;
    for (const auto& command : commands)
        if (command.name.starts_with(std::string(word) + " "))
            family.push_back(&command);
    return family;
}

void print_family(std::ostream& out, const std::vector<const CommandSpec*>& family) {
    out << "Commands:\n";
    for (const auto* command : family)
        out << "  " << synopsis(*command) << "\n      " << command->summary << "\n";
}

// "unknown command" or, for a known family word ("cache"), what it offers.
int report_unknown_command(const Program& program, std::ostream& err,
                           std::span<const CommandSpec> commands,
                           std::span<const std::string> args) {
    auto family = family_of(commands, args[0]);
    if (family.empty())
        return report_usage_error(program, err, "", "unknown command '" + args[0] + "'");
    std::string offered;
    for (const auto* command : family)
        offered += (offered.empty() ? "" : ", ") + std::string(command->name);
    std::string message = args.size() > 1 ? "unknown command '" + args[0] + " " + args[1] + "'"
                                          : "'" + args[0] + "' needs a subcommand";
    return report_usage_error(program, err, "", message + "; one of: " + offered);
}

// Every command accepts --help; it is added here so no table forgets it.
std::vector<OptionSpec> with_help(const CommandSpec& command) {
    std::vector<OptionSpec> options(command.options.begin(), command.options.end());
    options.push_back({"help", OptionKind::flag, "", "print this text"});
    return options;
}

std::optional<std::string> positionals_problem(const CommandSpec& command,
                                               const std::vector<std::string>& given) {
    if (given.size() < command.positionals)
        return "missing argument; usage: " + synopsis(command);
    if (given.size() > command.positionals && !command.more_positionals)
        return "unexpected argument '" + given[command.positionals] + "'";
    return std::nullopt;
}

} // namespace

bool is_help_flag(std::string_view arg) {
    return arg == "--help" || arg == "-h";
}

int run_help(const Program& program, std::span<const CommandSpec> commands,
             std::span<const std::string> topic, std::ostream& out, std::ostream& err) {
    if (topic.empty()) {
        print_usage(out, program, commands);
        return exit_ok;
    }
    if (auto family = family_of(commands, topic[0]); topic.size() == 1 && !family.empty()) {
        print_family(out, family);
        return exit_ok;
    }
    auto match = match_command(commands, topic);
    if (!match || match->second != topic.size())
        return report_unknown_command(program, err, commands, topic);
    print_command_help(out, program, commands[match->first]);
    return exit_ok;
}

std::variant<SelectedCommand, int> select_command(const Program& program,
                                                  std::span<const CommandSpec> commands,
                                                  std::span<const std::string> rest,
                                                  std::ostream& out, std::ostream& err) {
    if (rest.empty()) {
        print_usage(err, program, commands);
        return exit_usage;
    }
    if (rest[0] == "help")
        return run_help(program, commands, rest.subspan(1), out, err);
    if (rest.size() == 2 && is_help_flag(rest[1]) && !family_of(commands, rest[0]).empty())
        return run_help(program, commands, rest.first(1), out, err); // `cache --help`
    auto match = match_command(commands, rest);
    if (!match)
        return report_unknown_command(program, err, commands, rest);
    const CommandSpec& command = commands[match->first];
    auto options = with_help(command);
    auto args = parse_arguments(rest.subspan(match->second), options);
    if (!args)
        return report_usage_error(program, err, command.name, args.error().detail);
    if (args->has("help")) {
        print_command_help(out, program, command);
        return exit_ok;
    }
    if (auto problem = positionals_problem(command, args->positionals()))
        return report_usage_error(program, err, command.name, *problem);
    return SelectedCommand{match->first, std::move(*args)};
}

int report_failure(const Program& program, std::ostream& err, const Error& error) {
    err << program.name << ": " << error.detail << " (" << error_code_name(error.code) << ")"
        << std::endl;
    return exit_failure;
}

int report_usage_error(const Program& program, std::ostream& err, std::string_view command,
                       std::string_view message) {
    std::string where(program.name);
    if (!command.empty())
        where += " " + std::string(command);
    err << where << ": " << message << "\n"
        << "Try '" << where << " --help'." << std::endl;
    return exit_usage;
}

} // namespace nixedge::lab::cli
