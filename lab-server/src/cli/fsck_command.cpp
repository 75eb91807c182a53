// `fsck [--repair] [--verify-content] [--orphan-grace DURATION]`: compares
// the bucket with the database (app/fsck.hpp) and prints one line per
// difference, then a summary. Exit 0 when nothing differs or everything that
// did was repaired, 1 when differences remain.
#include "app/fsck.hpp"
#include "cli/command.hpp"
#include "config/duration.hpp"

namespace nixedge::lab::cli {
namespace {

int fsck_command(const Invocation& inv) {
    FsckOptions options;
    options.repair = inv.args.has("repair");
    options.verify_content = inv.args.has("verify-content");
    if (auto text = inv.args.value("orphan-grace")) {
        auto grace = parse_duration(*text);
        if (!grace)
            return report_usage_error(inv.err, "fsck", "--orphan-grace: " + grace.error().detail);
        options.orphan_grace = *grace;
    }
    // Findings as they come (a big bucket takes a while); progress on err,
    // so stdout holds only the report.
    options.on_finding = [&out = inv.out](const FsckFinding& finding) {
        out << format_finding(finding) << std::endl;
    };
    options.on_progress = [&err = inv.err](std::string_view stage, std::uint64_t listed) {
        err << program_name << " fsck: " << stage << " (" << listed << " objects listed)"
            << std::endl;
    };
    auto lab = open_lab(inv.config);
    if (!lab)
        return report_failure(inv.err, lab.error());
    auto report = run_fsck(*lab, options);
    if (!report)
        return report_failure(inv.err, report.error());
    inv.out << format_summary(*report) << std::flush;
    if (report->clean())
        return exit_ok;
    inv.err << program_name << ": " << report->remaining() << " of " << report->findings.size()
            << " differences remain"
            << (options.repair ? "" : "; run 'fsck --repair' to mend what can be mended")
            << std::endl;
    return exit_failure;
}

} // namespace

std::vector<Command> fsck_commands() {
    return {
        {"fsck",
         "[--repair] [--verify-content] [--orphan-grace DURATION]",
         "compare the bucket with the database and report every difference; --repair mends them",
         {
             {"repair", OptionKind::flag, "",
              "drain the outbox, rewrite manifests and edge objects, remove stale edge objects "
              "and old orphans, reset lost chunks for re-upload (stop the server first)"},
             {"verify-content", OptionKind::flag, "",
              "also decompress every chunk and check its SHA-256 and size (reads the whole "
              "bucket)"},
             {"orphan-grace", OptionKind::value, "DURATION",
              "--repair removes orphan chunks and manifests only when older than this (default "
              "1h)"},
         },
         0,
         fsck_command},
    };
}

} // namespace nixedge::lab::cli
