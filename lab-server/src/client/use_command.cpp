// `nixedge use CACHE`: the nix.conf and netrc lines that make Nix substitute
// from CACHE; printed, or written into Nix's files with --write.
#include "client/client_command.hpp"
#include "client/nix_conf.hpp"
#include "client/text_files.hpp"

#include <functional>

namespace nixedge::lab::client {
namespace {

using cli::OptionKind;

struct NixLines {
    std::string substituter;
    std::string public_key;
    std::string host;
    std::string token; // empty: no netrc line
};

// Nix's user configuration directory: $XDG_CONFIG_HOME/nix, else ~/.config/nix.
Result<std::filesystem::path> nix_config_dir(const Environment& env) {
    if (auto xdg = env.get("XDG_CONFIG_HOME"); xdg && !xdg->empty())
        return std::filesystem::path(*xdg) / "nix";
    if (auto home = env.get("HOME"); home && !home->empty())
        return std::filesystem::path(*home) / ".config" / "nix";
    return make_error(ErrorCode::invalid_argument,
                      "neither XDG_CONFIG_HOME nor HOME is set: name the files with --nix-conf "
                      "and --netrc");
}

Result<void> edit_file(const std::filesystem::path& file, mode_t mode,
                       const std::function<std::string(std::string)>& edit) {
    auto text = read_text_file(file);
    if (!text)
        return text.error();
    return replace_text_file(file, edit(text->value_or("")), mode);
}

int write_files(const ClientInvocation& inv, const NixLines& lines) {
    auto dir = nix_config_dir(inv.env);
    auto nix_conf = inv.args.value("nix-conf");
    auto netrc = inv.args.value("netrc");
    if (!dir && (!nix_conf || (!netrc && !lines.token.empty())))
        return report_failure(inv.err, dir.error());
    auto conf_file = nix_conf ? std::filesystem::path(*nix_conf) : *dir / "nix.conf";
    auto netrc_file = netrc ? std::filesystem::path(*netrc) : *dir / "netrc";
    auto edited = edit_file(conf_file, 0644, [&](std::string text) {
        text = add_to_nix_conf_list(text, "extra-substituters", lines.substituter);
        text = add_to_nix_conf_list(text, "extra-trusted-public-keys", lines.public_key);
        if (!lines.token.empty())
            text = set_nix_conf_value(text, "netrc-file",
                                      std::filesystem::absolute(netrc_file).string());
        return text;
    });
    if (!edited)
        return report_failure(inv.err, edited.error());
    inv.out << "added " << lines.substituter << " and its key to " << conf_file.string() << "\n";
    if (lines.token.empty())
        return cli::exit_ok;
    edited = edit_file(netrc_file, 0600, [&](std::string text) {
        return set_netrc_token(text, lines.host, lines.token);
    });
    if (!edited)
        return report_failure(inv.err, edited.error());
    inv.out << "gave " << lines.host << " its token in " << netrc_file.string() << "\n";
    return cli::exit_ok;
}

int use(const ClientInvocation& inv) {
    auto fetched = fetch_cache_config(inv, inv.args.positionals()[0]);
    if (!fetched)
        return report_failure(inv.err, fetched.error());
    const auto& config = fetched->config;
    if (!config.substituter_endpoint || !config.public_key)
        return report_failure(
            inv.err, make_error(ErrorCode::internal, "the server named no substituter or key"));
    auto host = host_of_url(*config.substituter_endpoint);
    if (!host)
        return report_failure(inv.err, host.error());
    NixLines lines{*config.substituter_endpoint, *config.public_key, *host,
                   fetched->cache.server().token};
    if (inv.args.has("write"))
        return write_files(inv, lines);
    inv.out << "# nix.conf\n"
            << "extra-substituters = " << lines.substituter << "\n"
            << "extra-trusted-public-keys = " << lines.public_key << "\n";
    if (!lines.token.empty())
        inv.out << "netrc-file = " << inv.args.value("netrc").value_or("/path/to/netrc") << "\n"
                << "# netrc\n"
                << "machine " << lines.host << " password " << lines.token << "\n";
    return cli::exit_ok;
}

} // namespace

std::vector<ClientCommand> use_commands() {
    return {
        {"use",
         "CACHE [--write]",
         "print the nix.conf and netrc lines that make Nix substitute from CACHE, or with "
         "--write add them to Nix's files",
         {
             {"write", OptionKind::flag, "",
              "edit nix.conf and netrc (default: those in $XDG_CONFIG_HOME/nix or ~/.config/nix)"},
             {"nix-conf", OptionKind::value, "FILE", "the nix.conf to edit"},
             {"netrc", OptionKind::value, "FILE", "the netrc to edit"},
         },
         1,
         use},
    };
}

} // namespace nixedge::lab::client
