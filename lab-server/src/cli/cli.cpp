#include "cli/cli.hpp"

#include "cli/command.hpp"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <optional>
#include <span>
#include <sstream>

namespace nixedge::lab {
namespace cli {
namespace {

// Every command in the order `--help` lists them.
std::vector<Command> all_commands() {
    std::vector<Command> commands;
    for (auto family :
         {serve_commands, cache_commands, token_commands, fsck_commands, gc_commands}) {
        auto rows = family();
        commands.insert(commands.end(), rows.begin(), rows.end());
    }
    return commands;
}

std::string synopsis(const Command& command) {
    std::string text(command.name);
    if (!command.operands.empty())
        text += " " + std::string(command.operands);
    return text;
}

void print_usage(std::ostream& out, std::span<const Command> commands) {
    out << "Usage: " << program_name << " [--config FILE] <command> [arguments]\n\n"
        << "Commands:\n";
    for (const auto& command : commands)
        out << "  " << synopsis(command) << "\n      " << command.summary << "\n";
    out << "  help [COMMAND]\n      print this text, or the options of COMMAND\n\n"
        << "Global options:\n"
        << "  --config FILE  the server.toml to use; without it, the file named by $"
        << config_file_variable << ", else the built-in defaults\n"
        << "  --help, -h     print this text\n\n"
        << "Run '" << program_name << " <command> --help' for the options of a command.\n";
}

std::string option_label(const OptionSpec& option) {
    std::string label = "--" + std::string(option.name);
    if (option.kind != OptionKind::flag)
        label += " " + std::string(option.value_name);
    return label;
}

void print_command_help(std::ostream& out, const Command& command) {
    out << "Usage: " << program_name << " [--config FILE] " << synopsis(command) << "\n\n"
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
std::optional<std::pair<const Command*, std::size_t>>
match_command(std::span<const Command> commands, std::span<const std::string> args) {
    for (const auto& command : commands) {
        std::istringstream words{std::string(command.name)};
        std::size_t taken = 0;
        bool matches = true;
        for (std::string word; words >> word; ++taken)
            if (taken >= args.size() || args[taken] != word) {
                matches = false;
                break;
            }
        if (matches)
            return std::pair{&command, taken};
    }
    return std::nullopt;
}

// The commands whose first word is `word` ("cache": cache create, cache info, ...).
std::vector<const Command*> family_of(std::span<const Command> commands, std::string_view word) {
    std::vector<const Command*> family;
    for (const auto& command : commands)
        if (command.name.starts_with(std::string(word) + " "))
            family.push_back(&command);
    return family;
}

void print_family(std::ostream& out, const std::vector<const Command*>& family) {
    out << "Commands:\n";
    for (const auto* command : family)
        out << "  " << synopsis(*command) << "\n      " << command->summary << "\n";
}

// "unknown command" or, for a known family word ("cache"), what it offers.
int report_unknown_command(std::ostream& err, std::span<const Command> commands,
                           std::span<const std::string> args) {
    auto family = family_of(commands, args[0]);
    if (family.empty())
        return report_usage_error(err, "", "unknown command '" + args[0] + "'");
    std::string offered;
    for (const auto* command : family)
        offered += (offered.empty() ? "" : ", ") + std::string(command->name);
    std::string message = args.size() > 1 ? "unknown command '" + args[0] + " " + args[1] + "'"
                                          : "'" + args[0] + "' needs a subcommand";
    return report_usage_error(err, "", message + "; one of: " + offered);
}

// `help`, `help cache`, `help cache create` (and the same with --help).
int run_help(std::ostream& out, std::ostream& err, std::span<const Command> commands,
             std::span<const std::string> topic) {
    if (topic.empty()) {
        print_usage(out, commands);
        return exit_ok;
    }
    if (auto family = family_of(commands, topic[0]); topic.size() == 1 && !family.empty()) {
        print_family(out, family);
        return exit_ok;
    }
    auto match = match_command(commands, topic);
    if (!match || match->second != topic.size())
        return report_unknown_command(err, commands, topic);
    print_command_help(out, *match->first);
    return exit_ok;
}

bool is_help_flag(std::string_view arg) {
    return arg == "--help" || arg == "-h";
}

Result<ServerConfig> load_configuration(const std::optional<std::string>& config_option,
                                        const Environment& env) {
    std::optional<std::string> file = config_option;
    if (!file) {
        auto named = env.get(config_file_variable);
        if (named && !named->empty())
            file = named;
    }
    if (!file)
        return parse_config("", env);
    return load_config(*file, env);
}

struct GlobalOptions {
    std::optional<std::string> config_file;
    bool help = false;
    std::size_t consumed = 0; // arguments before the command
};

// Options before the command word: --config FILE, --config=FILE, --help, -h.
Result<GlobalOptions> parse_global_options(std::span<const std::string> args) {
    GlobalOptions global;
    auto& i = global.consumed;
    for (; i < args.size() && args[i].starts_with("-"); ++i) {
        const std::string& arg = args[i];
        if (is_help_flag(arg)) {
            global.help = true;
        } else if (arg == "--config" || arg.starts_with("--config=")) {
            if (global.config_file)
                return make_error(ErrorCode::invalid_argument, "--config given more than once");
            if (arg != "--config")
                global.config_file = arg.substr(std::string_view("--config=").size());
            else if (i + 1 < args.size())
                global.config_file = args[++i];
            else
                return make_error(ErrorCode::invalid_argument, "--config needs a FILE");
        } else {
            return make_error(ErrorCode::invalid_argument, "unknown option '" + arg + "'");
        }
    }
    return global;
}

// Every command accepts --help; it is added here so no table forgets it.
std::vector<OptionSpec> with_help(const Command& command) {
    auto options = command.options;
    options.push_back({"help", OptionKind::flag, "", "print this text"});
    return options;
}

int run_command(const Command& command, std::span<const std::string> rest,
                const GlobalOptions& global, std::ostream& out, std::ostream& err,
                const Environment& env) {
    auto options = with_help(command);
    auto args = parse_arguments(rest, options);
    if (!args)
        return report_usage_error(err, command.name, args.error().detail);
    if (args->has("help")) {
        print_command_help(out, command);
        return exit_ok;
    }
    if (args->positionals().size() != command.positionals) {
        std::string message =
            args->positionals().size() > command.positionals
                ? "unexpected argument '" + args->positionals()[command.positionals] + "'"
                : "missing argument; usage: " + synopsis(command);
        return report_usage_error(err, command.name, message);
    }
    auto config = load_configuration(global.config_file, env);
    if (!config)
        return report_failure(err, config.error());
    return command.run(Invocation{*args, out, err, *config});
}

} // namespace

std::string format_utc(std::int64_t unix_time) {
    std::time_t t = static_cast<std::time_t>(unix_time);
    std::tm parts{};
    gmtime_r(&t, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

int report_failure(std::ostream& err, const Error& error) {
    err << program_name << ": " << error.detail << " (" << error_code_name(error.code) << ")"
        << std::endl;
    return exit_failure;
}

int report_usage_error(std::ostream& err, std::string_view command, std::string_view message) {
    std::string where(program_name);
    if (!command.empty())
        where += " " + std::string(command);
    err << where << ": " << message << "\n"
        << "Try '" << where << " --help'." << std::endl;
    return exit_usage;
}

} // namespace cli

int run_cli(std::vector<std::string> args, std::ostream& out, std::ostream& err,
            const Environment& env) {
    using namespace cli;
    const auto commands = all_commands();
    auto global = parse_global_options(args);
    if (!global)
        return report_usage_error(err, "", global.error().detail);
    std::span<const std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(global->consumed),
                                      args.end());
    if (global->help)
        return run_help(out, err, commands, rest);
    if (rest.empty()) {
        print_usage(err, commands);
        return exit_usage;
    }
    if (rest[0] == "help")
        return run_help(out, err, commands, rest.subspan(1));
    if (rest.size() == 2 && is_help_flag(rest[1]) && !family_of(commands, rest[0]).empty())
        return run_help(out, err, commands, rest.first(1)); // `cache --help`
    auto match = match_command(commands, rest);
    if (!match)
        return report_unknown_command(err, commands, rest);
    return run_command(*match->first, rest.subspan(match->second), *global, out, err, env);
}

} // namespace nixedge::lab
