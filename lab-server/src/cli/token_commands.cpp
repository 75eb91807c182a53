// `make-token`: what `atticadm make-token` does, with the same flags and the
// same claim, signed with the server's HS256 secret from the environment.
#include "auth/token.hpp"
#include "cli/command.hpp"
#include "config/duration.hpp"
#include "config/secrets.hpp"

#include <array>
#include <utility>

namespace nixedge::lab::cli {
namespace {

// The grant flags in the order atticadm applies them, which fixes the order
// of the patterns in the claim (and so which pattern wins for a cache).
constexpr std::array<std::pair<std::string_view, Permission>, 7> grant_flags{{
    {"pull", Permission::pull},
    {"push", Permission::push},
    {"delete", Permission::delete_paths},
    {"create-cache", Permission::create_cache},
    {"configure-cache", Permission::configure_cache},
    {"configure-cache-retention", Permission::configure_cache_retention},
    {"destroy-cache", Permission::destroy_cache},
}};

Result<std::vector<CacheGrant>> grants_from(const ParsedArguments& args) {
    std::vector<CacheGrant> grants;
    for (const auto& [flag, permission] : grant_flags)
        for (const auto& pattern : args.values(flag))
            if (auto ok = add_grant(grants, pattern, permission); !ok)
                return make_error(ErrorCode::invalid_argument,
                                  "--" + std::string(flag) + ": " + ok.error().detail);
    return grants;
}

Error missing_secret() {
    return make_error(ErrorCode::invalid_argument,
                      "no token secret: set " + std::string(token_secret_hex_variable) +
                          " (hex, e.g. from `openssl rand -hex 32`) or " +
                          std::string(token_secret_base64_variable) +
                          " to the secret the server uses");
}

int make_token_command(const Invocation& inv) {
    auto subject = inv.args.value("sub");
    auto validity_text = inv.args.value("validity");
    if (!subject || !validity_text)
        return report_usage_error(inv.err, "make-token", "--sub and --validity are required");
    auto validity = parse_duration(*validity_text);
    if (!validity)
        return report_usage_error(inv.err, "make-token", "--validity: " + validity.error().detail);
    auto grants = grants_from(inv.args);
    if (!grants)
        return report_usage_error(inv.err, "make-token", grants.error().detail);
    const auto& secret = inv.config.auth.token_hs256_secret;
    if (!secret)
        return report_failure(inv.err, missing_secret());
    auto token = make_token(*secret, *subject, *validity, *grants);
    if (!token)
        return report_failure(inv.err, token.error());
    inv.out << *token << std::endl;
    return exit_ok;
}

std::vector<OptionSpec> make_token_options() {
    std::vector<OptionSpec> options{
        {"sub", OptionKind::value, "SUBJECT", "who the token is for (its `sub` claim)"},
        {"validity", OptionKind::value, "DURATION", "how long it is valid, e.g. 1y, 30d, 12h"},
        {"pull", OptionKind::repeated, "PATTERN", "may read caches matching PATTERN"},
        {"push", OptionKind::repeated, "PATTERN", "may push to them"},
        {"delete", OptionKind::repeated, "PATTERN", "may delete paths from them"},
        {"create-cache", OptionKind::repeated, "PATTERN", "may create caches so named"},
        {"configure-cache", OptionKind::repeated, "PATTERN", "may change their settings"},
        {"configure-cache-retention", OptionKind::repeated, "PATTERN",
         "may change their retention"},
        {"destroy-cache", OptionKind::repeated, "PATTERN", "may destroy them"},
    };
    return options;
}

} // namespace

std::vector<Command> token_commands() {
    return {
        {"make-token", "--sub SUBJECT --validity DURATION [--PERMISSION PATTERN]...",
         "print a token (an Attic-compatible JWT) granting PERMISSION (pull, push, delete, "
         "create-cache, configure-cache, configure-cache-retention, destroy-cache) on the caches "
         "matching PATTERN, where '*' matches any run of characters",
         make_token_options(), 0, make_token_command},
    };
}

} // namespace nixedge::lab::cli
