// `nixedge cache create|info|configure|destroy CACHE`: Attic's cache-config
// API, as `attic cache` uses it.
#include "client/api_client.hpp"
#include "client/client_command.hpp"
#include "client/text_files.hpp"
#include "config/duration.hpp"

#include <charconv>
#include <limits>

namespace nixedge::lab::client {
namespace {

using cli::OptionKind;
using cli::OptionSpec;

constexpr std::string_view default_upstream_key = "cache.nixos.org-1";

Result<std::int32_t> parse_priority(const std::string& text) {
    std::int32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0)
        return make_error(ErrorCode::invalid_argument,
                          "--priority takes a whole number >= 0, not '" + text + "'");
    return value;
}

Result<std::uint32_t> parse_retention(const std::string& text) {
    auto duration = parse_duration(text);
    if (!duration)
        return make_error(ErrorCode::invalid_argument,
                          "--retention-period: " + duration.error().detail);
    if (duration->count() > std::numeric_limits<std::uint32_t>::max())
        return make_error(ErrorCode::invalid_argument, "--retention-period is too long");
    return static_cast<std::uint32_t>(duration->count());
}

// Checks the options that contradict each other; the first problem found.
std::optional<std::string>
conflicting(const cli::ParsedArguments& args,
            std::initializer_list<std::pair<const char*, const char*>> pairs) {
    for (const auto& [a, b] : pairs)
        if (args.has(a) && args.has(b))
            return "--" + std::string(a) + " and --" + std::string(b) + " exclude each other";
    return std::nullopt;
}

std::string yes_no(const std::optional<bool>& value) {
    return !value ? "unknown" : *value ? "yes" : "no";
}

std::string retention_text(const std::optional<attic::RetentionPeriodConfig>& retention) {
    if (!retention)
        return "unknown";
    if (retention->global)
        return "the server's default";
    if (retention->seconds == 0)
        return "never expire";
    return format_duration(Seconds(retention->seconds));
}

std::string joined(const std::optional<std::vector<std::string>>& names) {
    if (!names || names->empty())
        return "(none)";
    std::string text;
    for (const auto& name : *names)
        text += (text.empty() ? "" : ", ") + name;
    return text;
}

void print_cache_config(std::ostream& out, const attic::CacheConfig& config) {
    auto row = [&](std::string_view label, const std::string& value) {
        out << label << std::string(22 - label.size(), ' ') << value << "\n";
    };
    row("public:", yes_no(config.is_public));
    row("public key:", config.public_key.value_or("unknown"));
    row("substituter:", config.substituter_endpoint.value_or("unknown"));
    row("api endpoint:", config.api_endpoint.value_or("unknown"));
    row("store dir:", config.store_dir.value_or("unknown"));
    row("priority:", config.priority ? std::to_string(*config.priority) : "unknown");
    row("upstream keys:", joined(config.upstream_cache_key_names));
    row("retention:", retention_text(config.retention_period));
    row("edge:", yes_no(config.edge_enabled));
}

int cache_create(const ClientInvocation& inv) {
    if (auto problem = conflicting(inv.args, {{"upstream-cache-key-name", "no-upstream-keys"}}))
        return report_usage_error(inv.err, "cache create", *problem);
    auto resolved = resolve_cache(inv, inv.args.positionals()[0]);
    if (!resolved)
        return report_failure(inv.err, resolved.error());
    attic::CreateCacheRequest request;
    request.is_public = inv.args.has("public");
    if (auto priority = inv.args.value("priority")) {
        auto parsed = parse_priority(*priority);
        if (!parsed)
            return report_usage_error(inv.err, "cache create", parsed.error().detail);
        request.priority = *parsed;
    }
    if (inv.args.has("no-upstream-keys"))
        request.upstream_cache_key_names.clear();
    else if (auto names = inv.args.values("upstream-cache-key-name"); !names.empty())
        request.upstream_cache_key_names = names;
    else
        request.upstream_cache_key_names = {std::string(default_upstream_key)};
    if (auto key_file = inv.args.value("import-key")) {
        auto text = read_text_file(*key_file);
        if (!text || !*text)
            return report_failure(inv.err, text ? make_error(ErrorCode::invalid_argument,
                                                             *key_file + " does not exist")
                                                : text.error());
        std::string key = **text;
        while (!key.empty() && (key.back() == '\n' || key.back() == ' '))
            key.pop_back();
        request.keypair = attic::KeypairConfig{false, key};
    }
    ApiClient api(resolved->server());
    if (auto created = api.create_cache(resolved->ref.cache, request); !created)
        return report_failure(inv.err, created.error());
    auto config = api.get_cache_config(resolved->ref.cache);
    if (!config)
        return report_failure(inv.err, config.error());
    inv.out << "created cache '" << resolved->ref.cache << "' on '" << resolved->ref.server
            << "'\n";
    print_cache_config(inv.out, *config);
    return cli::exit_ok;
}

int cache_info(const ClientInvocation& inv) {
    auto fetched = fetch_cache_config(inv, inv.args.positionals()[0]);
    if (!fetched)
        return report_failure(inv.err, fetched.error());
    print_cache_config(inv.out, fetched->config);
    return cli::exit_ok;
}

// The PATCH body from the options given; nullopt when they ask for nothing.
Result<attic::CacheConfig> configure_changes(const cli::ParsedArguments& args) {
    attic::CacheConfig changes;
    if (args.has("public") || args.has("private"))
        changes.is_public = args.has("public");
    if (args.has("edge") || args.has("no-edge"))
        changes.edge_enabled = args.has("edge");
    if (auto priority = args.value("priority")) {
        auto parsed = parse_priority(*priority);
        if (!parsed)
            return parsed.error();
        changes.priority = *parsed;
    }
    if (args.has("no-upstream-keys"))
        changes.upstream_cache_key_names = std::vector<std::string>{};
    else if (auto names = args.values("upstream-cache-key-name"); !names.empty())
        changes.upstream_cache_key_names = names;
    if (args.has("reset-retention-period"))
        changes.retention_period = attic::RetentionPeriodConfig{true, 0};
    else if (auto period = args.value("retention-period")) {
        auto seconds = parse_retention(*period);
        if (!seconds)
            return seconds.error();
        changes.retention_period = attic::RetentionPeriodConfig{false, *seconds};
    }
    if (args.has("regenerate-keypair"))
        changes.keypair = attic::KeypairConfig{true, {}};
    return changes;
}

int cache_configure(const ClientInvocation& inv) {
    if (auto problem = conflicting(inv.args, {{"public", "private"},
                                              {"edge", "no-edge"},
                                              {"upstream-cache-key-name", "no-upstream-keys"},
                                              {"retention-period", "reset-retention-period"}}))
        return report_usage_error(inv.err, "cache configure", *problem);
    auto changes = configure_changes(inv.args);
    if (!changes)
        return report_usage_error(inv.err, "cache configure", changes.error().detail);
    if (attic::serialize(*changes) == "{}")
        return report_usage_error(inv.err, "cache configure", "nothing to change: give an option");
    auto resolved = resolve_cache(inv, inv.args.positionals()[0]);
    if (!resolved)
        return report_failure(inv.err, resolved.error());
    ApiClient api(resolved->server());
    if (auto done = api.configure_cache(resolved->ref.cache, *changes); !done)
        return report_failure(inv.err, done.error());
    auto config = api.get_cache_config(resolved->ref.cache);
    if (!config)
        return report_failure(inv.err, config.error());
    inv.out << "configured cache '" << resolved->ref.cache << "'\n";
    print_cache_config(inv.out, *config);
    return cli::exit_ok;
}

int cache_destroy(const ClientInvocation& inv) {
    const auto& name = inv.args.positionals()[0];
    if (!inv.args.has("yes"))
        return report_usage_error(inv.err, "cache destroy",
                                  "this deletes '" + name +
                                      "' with all its paths and keys: add --yes to go ahead");
    auto resolved = resolve_cache(inv, name);
    if (!resolved)
        return report_failure(inv.err, resolved.error());
    if (auto done = ApiClient(resolved->server()).destroy_cache(resolved->ref.cache); !done)
        return report_failure(inv.err, done.error());
    inv.out << "destroyed cache '" << resolved->ref.cache << "' on '" << resolved->ref.server
            << "'\n";
    return cli::exit_ok;
}

std::vector<OptionSpec> create_options() {
    return {
        {"public", OptionKind::flag, "", "anyone may read it without a token"},
        {"priority", OptionKind::value, "N", "its Priority in nix-cache-info (default 41)"},
        {"upstream-cache-key-name", OptionKind::repeated, "NAME",
         "paths signed by this key are not pushed (default: cache.nixos.org-1)"},
        {"no-upstream-keys", OptionKind::flag, "", "no upstream key: push every path"},
        {"import-key", OptionKind::value, "FILE",
         "sign with the secret key in FILE (name:base64, from `nix key generate-secret`) "
         "instead of a new one"},
    };
}

std::vector<OptionSpec> configure_options() {
    return {
        {"public", OptionKind::flag, "", "make it readable without a token"},
        {"private", OptionKind::flag, "", "make it readable with a token only"},
        {"priority", OptionKind::value, "N", "its Priority in nix-cache-info"},
        {"upstream-cache-key-name", OptionKind::repeated, "NAME", "replaces the upstream keys"},
        {"no-upstream-keys", OptionKind::flag, "", "empty the upstream keys"},
        {"retention-period", OptionKind::value, "DURATION",
         "paths expire this long after their push (30d, 2w; 0: never)"},
        {"reset-retention-period", OptionKind::flag, "", "use the server's default retention"},
        {"edge", OptionKind::flag, "", "serve it from the edge (when public)"},
        {"no-edge", OptionKind::flag, "", "keep it off the edge"},
        {"regenerate-keypair", OptionKind::flag, "",
         "rotate to a new signing key (the old one keeps signing beside it)"},
    };
}

} // namespace

std::vector<ClientCommand> cache_commands() {
    return {
        {"cache create", "CACHE [options]",
         "create a cache (CACHE or SERVER:CACHE) and print its settings", create_options(), 1,
         cache_create},
        {"cache info", "CACHE", "print a cache's settings and public key", {}, 1, cache_info},
        {"cache configure", "CACHE [options]", "change the settings given; the others stay",
         configure_options(), 1, cache_configure},
        {"cache destroy",
         "CACHE --yes",
         "delete a cache with its paths and signing keys",
         {{"yes", OptionKind::flag, "", "really destroy it"}},
         1,
         cache_destroy},
    };
}

} // namespace nixedge::lab::client
