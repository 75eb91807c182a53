// `gc` (one garbage collection, app/gc.hpp) and `path delete|pin|unpin|info`
// (one path of a cache: remove it, exempt it from retention, or show what GC
// knows of it).
#include "app/gc.hpp"
#include "cli/command.hpp"
#include "config/duration.hpp"
#include "nixedge/store_path.hpp"

namespace nixedge::lab::cli {
namespace {

int show_last_run(const Invocation& inv, Lab& lab) {
    auto last = lab.metadata->last_gc_run();
    if (!last)
        return report_failure(inv.err, last.error());
    if (!*last) {
        inv.out << "no GC run recorded\n";
        return exit_ok;
    }
    const auto& run = **last;
    inv.out << "started " << format_utc(run.started_at) << "\n";
    if (run.finished_at)
        inv.out << "finished " << format_utc(*run.finished_at) << ": "
                << (run.succeeded ? "succeeded" : "failed") << "\n";
    else
        inv.out << "not finished (running, or the process stopped)\n";
    inv.out << run.summary << "\n";
    return exit_ok;
}

int gc_command(const Invocation& inv) {
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    if (inv.args.has("status"))
        return show_last_run(inv, *lab);
    auto options = gc_options(inv.config);
    options.on_progress = [&err = inv.err](std::string_view stage, std::uint64_t done) {
        err << program_name << " gc: " << stage << ": " << done << std::endl;
    };
    OutboxDrainer drainer(lab->metadata, lab->storage);
    auto report = run_gc(*lab, drainer, options);
    if (!report)
        return report_failure(inv.err, report.error());
    inv.out << format_gc_report(*report) << std::endl;
    return report->skipped ? exit_failure : exit_ok;
}

// "/nix/store/<hash>-<name>", "<hash>-<name>" or "<hash>".
Result<std::string> store_hash_of(std::string_view text) {
    constexpr std::string_view store_dir = "/nix/store/";
    if (text.starts_with(store_dir))
        text.remove_prefix(store_dir.size());
    auto hash = text.substr(0, std::min(text.size(), store_hash_length));
    if (text.size() > store_hash_length && text[store_hash_length] != '-')
        return make_error(ErrorCode::invalid_argument,
                          "'" + std::string(text) + "' is not a store path or hash");
    if (auto valid = validate_store_hash(hash); !valid)
        return valid.error();
    return std::string(hash);
}

struct PathOperands {
    std::string cache;
    std::string hash;
};

Result<PathOperands> path_operands(const Invocation& inv) {
    auto hash = store_hash_of(inv.args.positionals().at(1));
    if (!hash)
        return hash.error();
    return PathOperands{inv.args.positionals().at(0), *hash};
}

int path_delete_command(const Invocation& inv) {
    auto operands = path_operands(inv);
    if (!operands)
        return report_usage_error(inv.err, "path delete", operands.error().detail);
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    OutboxDrainer drainer(lab->metadata, lab->storage);
    std::vector<std::string> hashes{operands->hash};
    auto removal = delete_paths(*lab, drainer, operands->cache, hashes, inv.args.has("force"));
    if (!removal)
        return report_failure(inv.err, removal.error());
    if (removal->removed.empty()) {
        const auto& reason = removal->kept.at(0).reason;
        inv.err << program_name << ": " << operands->hash << " stays in cache '" << operands->cache
                << "': " << reason
                << (reason.starts_with("referenced by ")
                        ? " (delete that first, or --force to leave it incomplete)"
                        : "")
                << std::endl;
        return exit_failure;
    }
    inv.out << "deleted " << operands->hash << " from cache '" << operands->cache
            << "'; GC removes its NAR once nothing has used it for "
            << format_duration(inv.config.gc.orphan_grace) << "\n";
    return exit_ok;
}

int set_pinned(const Invocation& inv, bool pinned) {
    auto operands = path_operands(inv);
    if (!operands)
        return report_usage_error(inv.err, pinned ? "path pin" : "path unpin",
                                  operands.error().detail);
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    if (auto ok = lab->metadata->set_pinned(operands->cache, operands->hash, pinned); !ok)
        return report_failure(inv.err, ok.error());
    return exit_ok;
}

int path_pin_command(const Invocation& inv) {
    return set_pinned(inv, true);
}

int path_unpin_command(const Invocation& inv) {
    return set_pinned(inv, false);
}

int path_info_command(const Invocation& inv) {
    auto operands = path_operands(inv);
    if (!operands)
        return report_usage_error(inv.err, "path info", operands.error().detail);
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    auto path = lab->metadata->get_path(operands->cache, operands->hash);
    if (!path)
        return report_failure(inv.err, path.error());
    if (!*path)
        return report_failure(
            inv.err, make_error(ErrorCode::not_found, "no path " + operands->hash + " in cache '" +
                                                          operands->cache + "'"));
    const auto& p = **path;
    inv.out << "store path: " << p.store_path.full() << "\n"
            << "pushed: " << format_utc(p.pushed_at) << "\n"
            << "last read in the lab: " << format_utc(p.last_accessed_at) << "\n"
            << "pinned: " << (p.pinned ? "yes" : "no") << "\n"
            << "references: " << p.references.size() << "\n";
    return exit_ok;
}

} // namespace

std::vector<Command> gc_commands() {
    return {
        {"gc",
         "[--once] [--status]",
         "collect garbage once: expired paths, then NARs and chunks unused for gc.orphan_grace",
         {
             {"once", OptionKind::flag, "",
              "run once and exit (the default; the server itself "
              "runs GC every gc.interval)"},
             {"status", OptionKind::flag, "", "show the last run of any process, run nothing"},
         },
         0,
         gc_command},
        {"path delete",
         "CACHE STORE_PATH [--force]",
         "remove a path from a cache (its NAR goes at GC after the grace period)",
         {{"force", OptionKind::flag, "", "even if other paths of the cache refer to it"}},
         2,
         path_delete_command},
        {"path pin",
         "CACHE STORE_PATH",
         "keep a path whatever the cache's retention",
         {},
         2,
         path_pin_command},
        {"path unpin",
         "CACHE STORE_PATH",
         "let the cache's retention apply to a path again",
         {},
         2,
         path_unpin_command},
        {"path info",
         "CACHE STORE_PATH",
         "when a path was pushed and last read, and its pin",
         {},
         2,
         path_info_command},
    };
}

} // namespace nixedge::lab::cli
