#include "cli/cli.hpp"

#include "cli/command.hpp"

#include <ctime>
#include <optional>
#include <span>
#include <variant>

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

const Program program{program_name, "[--config FILE]",
                      "  --config FILE  the server.toml to use; without it, the file named by "
                      "$NIXEDGE_CONFIG, else the built-in defaults\n"};

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
    return report_failure(program, err, error);
}

int report_usage_error(std::ostream& err, std::string_view command, std::string_view message) {
    return report_usage_error(program, err, command, message);
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
    const auto specs = specs_of(commands);
    if (global->help)
        return run_help(program, specs, rest, out, err);
    auto selected = select_command(program, specs, rest, out, err);
    if (const int* status = std::get_if<int>(&selected))
        return *status;
    auto& [index, parsed] = std::get<SelectedCommand>(selected);
    auto config = load_configuration(global->config_file, env);
    if (!config)
        return report_failure(err, config.error());
    return commands[index].run(Invocation{parsed, out, err, *config});
}

} // namespace nixedge::lab
