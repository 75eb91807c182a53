// `nixedge login NAME URL TOKEN`: remembers a server and its token.
#include "client/client_command.hpp"

namespace nixedge::lab::client {
namespace {

int login(const ClientInvocation& inv) {
    const auto& name = inv.args.positionals()[0];
    if (auto valid = validate_server_name(name); !valid)
        return report_usage_error(inv.err, "login", valid.error().detail);
    auto endpoint = normalize_endpoint(inv.args.positionals()[1]);
    if (!endpoint)
        return report_usage_error(inv.err, "login", endpoint.error().detail);
    auto config = load_client_config(inv.config_file);
    if (!config)
        return report_failure(inv.err, config.error());
    bool known = config->servers.contains(name);
    config->servers[name] = ServerEntry{*endpoint, inv.args.positionals()[2]};
    bool make_default = inv.args.has("set-default") || !config->default_server ||
                        !config->servers.contains(*config->default_server);
    if (make_default)
        config->default_server = name;
    if (auto saved = save_client_config(inv.config_file, *config); !saved)
        return report_failure(inv.err, saved.error());
    inv.out << (known ? "updated" : "added") << " server '" << name << "' (" << *endpoint << ")"
            << (config->default_server == name ? ", the default" : "") << "; configuration in "
            << inv.config_file.string() << "\n";
    return cli::exit_ok;
}

} // namespace

std::vector<ClientCommand> login_commands() {
    return {
        {"login",
         "NAME URL TOKEN [--set-default]",
         "remember a server (its URL and push token) under NAME; the first one becomes the "
         "default. TOKEN may be \"\" for public caches only",
         {{"set-default", cli::OptionKind::flag, "", "make NAME the default server"}},
         3,
         login},
    };
}

} // namespace nixedge::lab::client
