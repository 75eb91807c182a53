// `nixedge push CACHE PATH...`: the closures of PATHs into CACHE (push.hpp).
#include "client/client_command.hpp"
#include "client/push.hpp"

#include <charconv>

namespace nixedge::lab::client {
namespace {

using cli::OptionKind;

constexpr std::size_t max_jobs = 64;

Result<std::size_t> parse_jobs(const std::string& text) {
    std::size_t jobs = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), jobs);
    if (ec != std::errc{} || end != text.data() + text.size() || jobs == 0 || jobs > max_jobs)
        return make_error(ErrorCode::invalid_argument, "--jobs takes a number from 1 to " +
                                                           std::to_string(max_jobs) + ", not '" +
                                                           text + "'");
    return jobs;
}

Result<PushOptions> push_options(const ClientInvocation& inv) {
    PushOptions options;
    if (auto jobs = inv.args.value("jobs")) {
        auto parsed = parse_jobs(*jobs);
        if (!parsed)
            return parsed.error();
        options.jobs = *parsed;
    }
    options.store.store = inv.args.value("store").value_or("");
    options.closure = !inv.args.has("no-closure");
    options.ignore_upstream_filter = inv.args.has("ignore-upstream-cache-filter");
    options.force_preamble = inv.args.has("force-preamble");
    return options;
}

int push(const ClientInvocation& inv) {
    auto options = push_options(inv);
    if (!options)
        return report_usage_error(inv.err, "push", options.error().detail);
    const auto& positionals = inv.args.positionals();
    auto resolved = resolve_cache(inv, positionals[0]);
    if (!resolved)
        return report_failure(inv.err, resolved.error());
    std::vector<std::string> roots(positionals.begin() + 1, positionals.end());
    PushProgress progress(inv.err,
                          inv.interactive ? PushProgress::Style::bars : PushProgress::Style::lines);
    auto summary = push_paths(resolved->server(), resolved->ref.cache, roots, *options, progress);
    if (!summary)
        return report_failure(inv.err, summary.error());
    for (const auto& error : summary->errors)
        inv.err << "nixedge: failed: " << error << "\n";
    inv.err << summary_line(*summary) << std::endl;
    return summary->failed > 0 || summary->skipped > 0 ? cli::exit_failure : cli::exit_ok;
}

} // namespace

std::vector<ClientCommand> push_commands() {
    return {
        {"push",
         "CACHE PATH... [options]",
         "upload the closures of PATHs (store paths or links to them, e.g. ./result) that the "
         "cache lacks, skipping paths signed by its upstream keys",
         {
             {"jobs", OptionKind::value, "N", "uploads in flight (default 4)"},
             {"store", OptionKind::value, "STORE",
              "the Nix store to read (nix's --store; default: Nix's own)"},
             {"no-closure", OptionKind::flag, "", "push the PATHs only, not their closures"},
             {"ignore-upstream-cache-filter", OptionKind::flag, "",
              "push paths signed by upstream keys too"},
             {"force-preamble", OptionKind::flag, "",
              "send each path's info in the body, not in a header"},
         },
         2,
         push,
         true},
    };
}

} // namespace nixedge::lab::client
