// `cache create|info|list|configure|destroy`: cache administration straight
// on the database of the configured data directory (no server needed).
#include "app/lab.hpp"
#include "cli/command.hpp"
#include "config/duration.hpp"
#include "nixedge/bucket_layout.hpp"
#include "nixedge/nar_listing.hpp"

#include <charconv>
#include <ctime>
#include <fstream>
#include <sstream>

namespace nixedge::lab::cli {
namespace {

// ---- settings flags (create and configure) ----------------------------------

std::vector<OptionSpec> settings_options() {
    return {
        {"public", OptionKind::flag, "", "anyone may read the cache without a token"},
        {"private", OptionKind::flag, "", "reading needs a token with pull permission"},
        {"edge", OptionKind::flag, "", "mirror the cache to the edge (public caches only)"},
        {"no-edge", OptionKind::flag, "", "keep the cache in the lab"},
        {"priority", OptionKind::value, "N", "nix-cache-info Priority (lower is asked first)"},
        {"retention", OptionKind::value, "DURATION",
         "garbage-collect paths pushed longer ago than this (e.g. 30d; 0 keeps them forever)"},
        {"allow-upstream-references", OptionKind::flag, "",
         "publish paths whose references are not in the cache"},
        {"no-allow-upstream-references", OptionKind::flag, "",
         "refuse paths whose references are not in the cache"},
        {"upstream-key", OptionKind::repeated, "KEYNAME",
         "a key of an upstream cache (e.g. cache.nixos.org-1) whose paths clients skip"},
    };
}

// One of a pair of opposite flags, or neither.
Result<std::optional<bool>> either(const ParsedArguments& args, std::string_view yes,
                                   std::string_view no) {
    if (args.has(yes) && args.has(no))
        return make_error(ErrorCode::invalid_argument, "--" + std::string(yes) + " and --" +
                                                           std::string(no) + " exclude each other");
    if (args.has(yes))
        return std::optional<bool>(true);
    if (args.has(no))
        return std::optional<bool>(false);
    return std::optional<bool>();
}

Result<std::int64_t> parse_priority(const std::string& text) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0)
        return make_error(ErrorCode::invalid_argument,
                          "--priority '" + text + "' is not a non-negative integer");
    return value;
}

// The settings the command line sets; errors are usage errors.
Result<CacheSettingsUpdate> settings_update(const ParsedArguments& args) {
    CacheSettingsUpdate update;
    auto is_public = either(args, "public", "private");
    auto edge = either(args, "edge", "no-edge");
    auto upstream = either(args, "allow-upstream-references", "no-allow-upstream-references");
    for (const auto* choice : {&is_public, &edge, &upstream})
        if (!*choice)
            return choice->error();
    update.is_public = *is_public;
    update.edge_enabled = *edge;
    update.allow_upstream_references = *upstream;
    if (auto text = args.value("priority")) {
        auto priority = parse_priority(*text);
        if (!priority)
            return priority.error();
        update.priority = *priority;
    }
    if (auto text = args.value("retention")) {
        auto retention = parse_duration(*text);
        if (!retention)
            return make_error(ErrorCode::invalid_argument,
                              "--retention: " + retention.error().detail);
        update.retention_seconds = retention->count();
    }
    if (args.has("upstream-key") || args.has("no-upstream-keys")) {
        if (args.has("upstream-key") && args.has("no-upstream-keys"))
            return make_error(ErrorCode::invalid_argument,
                              "--upstream-key and --no-upstream-keys exclude each other");
        update.upstream_key_names = args.values("upstream-key");
        for (const auto& name : *update.upstream_key_names)
            if (auto ok = validate_key_name(name); !ok)
                return make_error(ErrorCode::invalid_argument,
                                  "--upstream-key: " + ok.error().detail);
    }
    return update;
}

bool changes_anything(const CacheSettingsUpdate& u) {
    return u.is_public || u.edge_enabled || u.priority || u.retention_seconds ||
           u.allow_upstream_references || u.upstream_key_names;
}

CacheSettings apply(CacheSettings settings, const CacheSettingsUpdate& u) {
    settings.is_public = u.is_public.value_or(settings.is_public);
    settings.edge_enabled = u.edge_enabled.value_or(settings.edge_enabled);
    settings.priority = u.priority.value_or(settings.priority);
    settings.retention_seconds = u.retention_seconds.value_or(settings.retention_seconds);
    settings.allow_upstream_references =
        u.allow_upstream_references.value_or(settings.allow_upstream_references);
    settings.upstream_key_names = u.upstream_key_names.value_or(settings.upstream_key_names);
    return settings;
}

// ---- output --------------------------------------------------------------------

std::string retention_text(std::int64_t seconds) {
    return seconds == 0 ? "forever" : format_duration(Seconds{seconds});
}

std::string edge_text(const CacheSettings& s) {
    if (on_edge(s))
        return "on (mirrored to the edge)";
    return s.edge_enabled ? "enabled, but the cache is private, so it stays in the lab" : "off";
}

std::string joined(const std::vector<std::string>& names) {
    if (names.empty())
        return "none";
    std::string text;
    for (const auto& name : names)
        text += (text.empty() ? "" : " ") + name;
    return text;
}

void print_info(std::ostream& out, const Cache& cache) {
    const auto& s = cache.settings;
    out << "name:                " << cache.name << "\n"
        << "access:              "
        << (s.is_public ? "public (readable without a token)" : "private (pull needs a token)")
        << "\n"
        << "edge:                " << edge_text(s) << "\n"
        << "priority:            " << s.priority << "\n"
        << "retention:           " << retention_text(s.retention_seconds) << "\n"
        << "upstream references: " << (s.allow_upstream_references ? "allowed" : "refused") << "\n"
        << "upstream keys:       " << joined(s.upstream_key_names) << "\n"
        << "created:             " << format_utc(cache.created_at) << "\n";
    for (const auto& key : cache.keys)
        out << "key:                 " << key.public_key << " (" << to_string(key.state)
            << ", created " << format_utc(key.created_at) << ")\n";
}

// `cache list --json`: one JSON array, for scripts (scripts/edge-dev.sh builds
// the Worker's TRUSTED_KEYS from it). "on_edge" is what reaches the edge
// (public and edge-enabled); "keys" holds every key of the cache, the
// retiring ones too, since narinfos signed with them are still served.
void print_json_list(std::ostream& out, const std::vector<Cache>& caches) {
    std::string json = "[";
    for (const auto& cache : caches) {
        const auto& s = cache.settings;
        json += json.size() > 1 ? ",{\"name\":" : "{\"name\":";
        append_nix_json_string(json, cache.name);
        json += std::string(",\"public\":") + (s.is_public ? "true" : "false") +
                ",\"edge\":" + (s.edge_enabled ? "true" : "false") +
                ",\"on_edge\":" + (on_edge(s) ? "true" : "false") +
                ",\"priority\":" + std::to_string(s.priority) +
                ",\"retention_seconds\":" + std::to_string(s.retention_seconds) + ",\"keys\":[";
        bool first = true;
        for (const auto& key : cache.keys) {
            json += first ? "{\"public_key\":" : ",{\"public_key\":";
            first = false;
            append_nix_json_string(json, key.public_key);
            json += ",\"state\":";
            append_nix_json_string(json, to_string(key.state));
            json += "}";
        }
        json += "]}";
    }
    out << json << "]\n";
}

// ---- helpers -------------------------------------------------------------------

std::string_view cache_name(const Invocation& inv) {
    return inv.args.positionals().front();
}

Result<SecretKey> read_secret_key_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_error(ErrorCode::invalid_argument, "cannot read the key file " + path);
    std::ostringstream text;
    text << in.rdbuf();
    std::string key = text.str();
    // `nix key generate-secret > file` leaves a newline at the end.
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' '))
        key.pop_back();
    auto parsed = parse_secret_key(key);
    if (!parsed)
        return make_error(parsed.error().code, path + ": " + parsed.error().detail);
    return parsed;
}

// --import-key FILE, or a new key named --key-name (default "<cache>-1").
Result<SecretKey> signing_key_for(const Invocation& inv) {
    if (auto file = inv.args.value("import-key"))
        return read_secret_key_file(*file);
    auto name = inv.args.value("key-name").value_or(default_key_name(cache_name(inv)));
    if (auto ok = validate_key_name(name); !ok)
        return ok.error();
    return generate_signing_key(name);
}

Result<Cache> require_cache(MetadataStore& metadata, std::string_view name) {
    auto cache = metadata.get_cache(name);
    if (!cache)
        return cache.error();
    if (!*cache)
        return make_error(ErrorCode::not_found, "no cache '" + std::string(name) + "'");
    return std::move(**cache);
}

// A change to a cache's flags, keys or existence is committed with outbox
// entries (the edge objects and the sync plan it changes). Writing them now
// puts the bucket in step at once instead of at the server's next push or
// start-up. If that fails the change stands and the entries stay queued for
// the next drain (or `fsck --repair`): a warning, not a failure.
void write_bucket_changes(Lab& lab, std::ostream& err) {
    OutboxDrainer drainer(lab.metadata, lab.storage);
    if (auto updated = update_bucket(lab, drainer); !updated)
        err << "warning: the change is saved, but the bucket is not updated yet ("
            << updated.error().detail
            << "); the server writes it at its next start or push, or run `fsck --repair`"
            << std::endl;
}

// ---- commands ------------------------------------------------------------------

int cache_create(const Invocation& inv) {
    auto update = settings_update(inv.args);
    if (!update)
        return report_usage_error(inv.err, "cache create", update.error().detail);
    if (inv.args.has("key-name") && inv.args.has("import-key"))
        return report_usage_error(inv.err, "cache create",
                                  "--key-name and --import-key exclude each other "
                                  "(an imported key keeps its own name)");
    if (auto ok = validate_cache_name(cache_name(inv)); !ok)
        return report_failure(inv.err, ok.error());
    auto key = signing_key_for(inv);
    if (!key)
        return report_failure(inv.err, key.error());
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    auto settings = apply(default_cache_settings(inv.config), *update);
    auto cache = lab->metadata->create_cache(cache_name(inv), settings, *key);
    if (!cache)
        return report_failure(inv.err, cache.error());
    write_bucket_changes(*lab, inv.err);
    inv.out << key->public_key().to_string() << std::endl;
    return exit_ok;
}

int cache_info(const Invocation& inv) {
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    auto cache = require_cache(*lab->metadata, cache_name(inv));
    if (!cache)
        return report_failure(inv.err, cache.error());
    if (inv.args.has("public-key")) {
        for (const auto& key : cache->keys)
            if (key.state == KeyState::active)
                inv.out << key.public_key << "\n";
    } else {
        print_info(inv.out, *cache);
    }
    inv.out.flush();
    return exit_ok;
}

int cache_list(const Invocation& inv) {
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    auto caches = lab->metadata->list_caches();
    if (!caches)
        return report_failure(inv.err, caches.error());
    if (inv.args.has("json")) {
        print_json_list(inv.out, *caches);
        inv.out.flush();
        return exit_ok;
    }
    for (const auto& cache : *caches) {
        const auto& s = cache.settings;
        inv.out << cache.name << " " << (s.is_public ? "public" : "private") << " "
                << (s.edge_enabled ? "edge" : "no-edge") << " priority=" << s.priority
                << " retention=" << retention_text(s.retention_seconds) << "\n";
    }
    inv.out.flush();
    return exit_ok;
}

int cache_configure(const Invocation& inv) {
    auto update = settings_update(inv.args);
    if (!update)
        return report_usage_error(inv.err, "cache configure", update.error().detail);
    if (!changes_anything(*update))
        return report_usage_error(inv.err, "cache configure",
                                  "nothing to change: give at least one setting option");
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    auto cache = lab->metadata->update_cache(cache_name(inv), *update);
    if (!cache)
        return report_failure(inv.err, cache.error());
    write_bucket_changes(*lab, inv.err);
    return exit_ok;
}

int cache_destroy(const Invocation& inv) {
    if (!inv.args.has("yes"))
        return report_usage_error(inv.err, "cache destroy",
                                  "refusing to destroy cache '" + std::string(cache_name(inv)) +
                                      "' without --yes (its paths and signing keys are deleted)");
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    // An edge cache's NARs stay in the sync plan for the GC grace period, as
    // for any removed path (an edge may still serve its narinfos).
    const auto edge_keep_until = system_clock_now() + inv.config.gc.orphan_grace.count();
    if (auto ok = lab->metadata->destroy_cache(cache_name(inv), edge_keep_until); !ok)
        return report_failure(inv.err, ok.error());
    write_bucket_changes(*lab, inv.err);
    return exit_ok;
}

std::vector<OptionSpec> create_options() {
    auto options = settings_options();
    options.push_back({"key-name", OptionKind::value, "NAME",
                       "name of the generated signing key (default: <cache>-1)"});
    options.push_back({"import-key", OptionKind::value, "FILE",
                       "use the secret key in FILE (name:base64, as `nix key generate-secret` "
                       "writes it) instead of generating one"});
    return options;
}

std::vector<OptionSpec> configure_options() {
    auto options = settings_options();
    options.back().help = "replaces the upstream key list (give it once per key)";
    options.push_back({"no-upstream-keys", OptionKind::flag, "", "empty the upstream key list"});
    return options;
}

} // namespace

std::vector<Command> cache_commands() {
    return {
        {"cache create", "NAME [options]",
         "create a cache with a new signing key (or an imported one) and print its public key",
         create_options(), 1, cache_create},
        {"cache info",
         "NAME [--public-key]",
         "describe a cache; with --public-key print only its active public key(s)",
         {{"public-key", OptionKind::flag, "", "print only the active public key(s), one a line"}},
         1,
         cache_info},
        {"cache list",
         "[--json]",
         "list the caches, one a line: name, access, edge, priority, retention",
         {{"json", OptionKind::flag, "",
           "print one JSON array instead: name, public, edge, on_edge, priority, "
           "retention_seconds and keys (public_key, state) of each cache"}},
         0,
         cache_list},
        {"cache configure", "NAME [options]",
         "change the settings given (at least one); the others stay", configure_options(), 1,
         cache_configure},
        {"cache destroy",
         "NAME --yes",
         "delete a cache with its paths and signing keys (its chunks go at the next GC)",
         {{"yes", OptionKind::flag, "", "really destroy it"}},
         1,
         cache_destroy},
    };
}

} // namespace nixedge::lab::cli
