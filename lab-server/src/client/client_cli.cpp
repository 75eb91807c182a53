#include "client/client_cli.hpp"

#include "client/api_client.hpp"
#include "client/client_command.hpp"

#include <span>
#include <variant>

namespace nixedge::lab::client {
namespace {

std::vector<ClientCommand> all_commands() {
    std::vector<ClientCommand> commands;
    for (auto family : {login_commands, cache_commands, push_commands, use_commands}) {
        auto rows = family();
        commands.insert(commands.end(), rows.begin(), rows.end());
    }
    return commands;
}

const cli::Program program{client_program_name, "",
                           "  (the configuration is $XDG_CONFIG_HOME/nixedge/config.toml, "
                           "default ~/.config/nixedge/config.toml)\n"};

} // namespace

int report_failure(std::ostream& err, const Error& error) {
    return cli::report_failure(program, err, error);
}

int report_usage_error(std::ostream& err, std::string_view command, std::string_view message) {
    return cli::report_usage_error(program, err, command, message);
}

Result<ResolvedCache> resolve_cache(const ClientInvocation& inv, std::string_view text) {
    auto config = load_client_config(inv.config_file);
    if (!config)
        return config.error();
    auto ref = resolve_cache_ref(*config, text);
    if (!ref)
        return ref.error();
    return ResolvedCache{std::move(*config), std::move(*ref)};
}

Result<CacheWithConfig> fetch_cache_config(const ClientInvocation& inv, std::string_view text) {
    auto resolved = resolve_cache(inv, text);
    if (!resolved)
        return resolved.error();
    auto config = ApiClient(resolved->server()).get_cache_config(resolved->ref.cache);
    if (!config)
        return config.error();
    return CacheWithConfig{std::move(*resolved), std::move(*config)};
}

int run_client_cli(std::vector<std::string> args, std::ostream& out, std::ostream& err,
                   const Environment& env, bool interactive) {
    const auto commands = all_commands();
    const auto specs = cli::specs_of(commands);
    std::span<const std::string> rest(args);
    if (!rest.empty() && cli::is_help_flag(rest[0]))
        return cli::run_help(program, specs, rest.subspan(1), out, err);
    auto selected = cli::select_command(program, specs, rest, out, err);
    if (const int* status = std::get_if<int>(&selected))
        return *status;
    auto& [index, parsed] = std::get<cli::SelectedCommand>(selected);
    auto config_file = client_config_path(env);
    if (!config_file)
        return report_failure(err, config_file.error());
    return commands[index].run(
        ClientInvocation{parsed, out, err, env, std::move(*config_file), interactive});
}

} // namespace nixedge::lab::client
