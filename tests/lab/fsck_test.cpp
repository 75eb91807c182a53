// fsck against a lab whose paths were pushed through the real route table:
// each test damages the bucket (or the outbox) the way a crash, an operator
// or a bug would, then checks what fsck reports, what --repair changes in
// the bucket and the database, and that the lab serves again afterwards.
#include "lab_support.hpp"

#include "app/fsck.hpp"
#include "cli/cli.hpp"
#include "nixedge/bucket_layout.hpp"
#include "nixedge/zstd_frames.hpp"
#include "storage/storage.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace nixedge;
using namespace nixedge::test;
using lab::FsckFindingKind;
using lab::Permission;
using lab::http::Status;
using lab::http::Verb;
namespace fs = std::filesystem;

namespace {

// Small chunks, so a NAR of a few dozen KiB has many.
constexpr std::string_view small_chunks =
    "[chunking]\nmin_size = 1024\navg_size = 4096\nmax_size = 16384\n";

// A NAR of about 64 KiB whose contents depend on `seed`: many chunks.
std::string many_chunk_nar(int seed) {
    std::string contents;
    for (std::int64_t i = 0; contents.size() < 64 * 1024; ++i)
        contents += std::to_string((i + seed * 1000003) * 7919) + ",";
    return file_nar(contents);
}

std::string put_nar(LabFixture& f, const std::string& cache, const std::string& token,
                    const std::string& nar) {
    auto url = nix_nar_url(nar);
    auto put = f.call(Verb::put, "/" + cache + "/" + url, token, nar);
    REQUIRE(put);
    REQUIRE(put->status == Status::ok);
    return url;
}

void push(LabFixture& f, const std::string& cache, const std::string& token, const StorePath& path,
          const std::string& nar) {
    REQUIRE(push_path(f, cache, token, path, nar) == Status::ok);
}

// What `serve` writes at start-up before anything else.
void write_layout_marker(LabFixture& f) {
    REQUIRE(f.lab.storage->put(bucket_key::layout_marker(), as_bytes(layout_marker_text())));
}

lab::FsckReport fsck(LabFixture& f, bool repair = false, lab::FsckOptions options = {}) {
    options.repair = repair;
    auto report = lab::run_fsck(f.lab, options);
    if (!report)
        FAIL("fsck: " << report.error().detail);
    return std::move(report).value();
}

lab::FsckOptions verifying() {
    lab::FsckOptions options;
    options.verify_content = true;
    return options;
}

std::string lines_of(const lab::FsckReport& report) {
    std::string text;
    for (const auto& finding : report.findings)
        text += lab::format_finding(finding) + "\n";
    return text;
}

// The findings as "kind key" lines, sorted.
std::vector<std::string> kinds_and_keys(const lab::FsckReport& report) {
    std::vector<std::string> lines;
    for (const auto& finding : report.findings)
        lines.push_back(std::string(lab::to_string(finding.kind)) + " " + finding.key);
    std::sort(lines.begin(), lines.end());
    return lines;
}

const lab::FsckFinding& the_finding(const lab::FsckReport& report, FsckFindingKind kind,
                                    const std::string& key) {
    auto it = std::find_if(report.findings.begin(), report.findings.end(),
                           [&](const auto& x) { return x.kind == kind && x.key == key; });
    INFO(lines_of(report));
    REQUIRE(it != report.findings.end());
    return *it;
}

bool object_exists(LabFixture& f, const std::string& key) {
    auto exists = f.lab.storage->exists(key);
    REQUIRE(exists);
    return *exists;
}

fs::path object_file(LabFixture& f, const std::string& key) {
    return f.lab.config.storage.path / key;
}

ChunkManifest manifest_of(LabFixture& f, const std::string& cache, const StorePath& path) {
    auto record = f.lab.metadata->get_path(cache, path.hash);
    REQUIRE(record);
    REQUIRE(*record);
    auto manifest = f.lab.metadata->manifest((*record)->manifest_hash);
    REQUIRE(manifest);
    REQUIRE(*manifest);
    return **manifest;
}

Sha256Digest manifest_hash_of(LabFixture& f, const std::string& cache, const StorePath& path) {
    return f.lab.metadata->get_path(cache, path.hash).value()->manifest_hash;
}

struct PushedLab {
    LabFixture f{std::string(small_chunks)};
    std::string token;

    PushedLab() {
        f.create_cache("main");
        f.create_cache("edge", /*is_public=*/true, /*edge=*/true);
        token = f.token({{"*", Permission::pull}, {"*", Permission::push}});
        write_layout_marker(f);
    }
};

} // namespace

TEST_CASE("fsck: a lab whose bucket matches its database reports nothing", "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    f.create_cache("lab", /*is_public=*/false, /*edge=*/true); // private: stays in the lab
    push(f, "main", lab.token, path_named("a"), many_chunk_nar(1));
    push(f, "edge", lab.token, path_named("b"), many_chunk_nar(2));
    push(f, "edge", lab.token, path_named("c"), file_nar("small"));
    push(f, "lab", lab.token, path_named("d"), many_chunk_nar(1)); // deduplicated
    REQUIRE(f.lab.storage->put(bucket_key::sync_status(), as_bytes(std::string("ok"))));

    std::set<Sha256Digest> distinct;
    for (const auto& [cache, name] : {std::pair{"main", "a"}, {"edge", "b"}, {"edge", "c"}})
        for (const auto& chunk : manifest_of(f, cache, path_named(name)).chunks)
            distinct.insert(chunk.hash);
    const auto chunks = distinct.size();
    for (bool verify : {false, true}) {
        lab::FsckOptions options;
        options.verify_content = verify;
        auto report = fsck(f, false, options);
        INFO(lines_of(report));
        CHECK(report.findings.empty());
        CHECK(report.clean());
        CHECK(report.chunks_checked == chunks);
        CHECK(report.manifests_checked == 3);
        // Layout marker, nix-cache-info, two narinfos and listings, sync/plan.
        CHECK(report.edge_objects_checked == 7);
        CHECK(report.objects_listed == chunks + 3 + 7 + 1);
        CHECK(lab::format_summary(report).ends_with("no differences\n"));
    }
}

TEST_CASE("fsck: a lost chunk is reset for re-upload, and a re-push restores it", "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    auto path = path_named("lost");
    auto nar = many_chunk_nar(3);
    push(f, "main", lab.token, path, nar);
    auto manifest = manifest_of(f, "main", path);
    REQUIRE(manifest.chunks.size() > 4);
    const auto lost = manifest.chunks[2];
    const auto key = bucket_key::chunk(lost.hash);
    REQUIRE(f.lab.storage->remove(key));

    auto found = fsck(f);
    CHECK(kinds_and_keys(found) ==
          std::vector<std::string>{"chunk-missing " + key,
                                   "nar-broken " + bucket_key::narinfo("main", path.hash)});
    CHECK_FALSE(found.clean());
    CHECK(found.findings[0].action.empty());
    CHECK(the_finding(found, FsckFindingKind::nar_broken, bucket_key::narinfo("main", path.hash))
              .problem.find(path.full()) != std::string::npos);
    CHECK(f.lab.metadata->get_chunk(lost.hash).value()->state == lab::ChunkState::stored);

    auto repaired = fsck(f, true);
    auto& reset = the_finding(repaired, FsckFindingKind::chunk_missing, key);
    CHECK(reset.repaired);
    CHECK(reset.action.find("reset for re-upload") != std::string::npos);
    // The paths stay broken until the content comes back: not clean.
    CHECK_FALSE(
        the_finding(repaired, FsckFindingKind::nar_broken, bucket_key::narinfo("main", path.hash))
            .repaired);
    CHECK(repaired.remaining() == 1);
    auto row = f.lab.metadata->get_chunk(lost.hash).value();
    CHECK(row->state == lab::ChunkState::claimed);
    CHECK(row->stored_size == lost.stored_size);

    // Reported as waiting until then; a second repair changes nothing.
    auto waiting = fsck(f, true);
    CHECK(kinds_and_keys(waiting) ==
          std::vector<std::string>{"chunk-awaiting-upload " + key,
                                   "nar-broken " + bucket_key::narinfo("main", path.hash)});
    CHECK(waiting.repaired() == 0);

    // Nix pushes the same path again: the NAR upload writes the chunk anew.
    put_nar(f, "main", lab.token, nar);
    CHECK(object_exists(f, key));
    CHECK(f.lab.metadata->get_chunk(lost.hash).value()->state == lab::ChunkState::stored);
    auto after = fsck(f, false, verifying());
    INFO(lines_of(after));
    CHECK(after.findings.empty());
    CHECK(served_nar(f, "main", lab.token, path) == nar);
    CHECK(manifest_of(f, "main", path) == manifest);
}

TEST_CASE("fsck: a truncated chunk is found, and repair removes it for re-upload", "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    auto path = path_named("short");
    auto nar = many_chunk_nar(4);
    push(f, "edge", lab.token, path, nar);
    const auto chunk = manifest_of(f, "edge", path).chunks.front();
    const auto key = bucket_key::chunk(chunk.hash);
    fs::resize_file(object_file(f, key), chunk.stored_size - 3);

    auto found = fsck(f);
    auto& wrong = the_finding(found, FsckFindingKind::chunk_wrong_size, key);
    CHECK(wrong.problem.find(std::to_string(chunk.stored_size - 3)) != std::string::npos);
    CHECK(found.count(FsckFindingKind::nar_broken) == 1);

    auto repaired = fsck(f, true);
    CHECK(the_finding(repaired, FsckFindingKind::chunk_wrong_size, key).repaired);
    CHECK_FALSE(object_exists(f, key)); // a missing chunk fails loudly; a short one might not
    put_nar(f, "edge", lab.token, nar);
    CHECK(fsck(f).findings.empty());
    CHECK(served_nar(f, "edge", lab.token, path) == nar);
}

TEST_CASE("fsck: --verify-content finds a damaged frame of the right size", "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    auto path = path_named("flipped");
    push(f, "main", lab.token, path, many_chunk_nar(5));
    const auto chunk = manifest_of(f, "main", path).chunks[1];
    const auto key = bucket_key::chunk(chunk.hash);
    auto frame = object_text(f, key);
    frame[frame.size() / 2] = static_cast<char>(frame[frame.size() / 2] ^ 0x55);
    REQUIRE(f.lab.storage->put(key, as_bytes(frame)));

    CHECK(fsck(f).findings.empty()); // sizes alone cannot tell
    auto verified = fsck(f, false, verifying());
    CHECK(kinds_and_keys(verified) ==
          std::vector<std::string>{"chunk-corrupt " + key,
                                   "nar-broken " + bucket_key::narinfo("main", path.hash)});
}

TEST_CASE("fsck: a deleted or altered manifest object is rewritten from the database", "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    push(f, "main", lab.token, path_named("m1"), many_chunk_nar(6));
    push(f, "edge", lab.token, path_named("m2"), file_nar("second"));
    const auto deleted = bucket_key::manifest(manifest_hash_of(f, "main", path_named("m1")));
    const auto altered = bucket_key::manifest(manifest_hash_of(f, "edge", path_named("m2")));
    const auto original = object_text(f, altered);
    REQUIRE(f.lab.storage->remove(deleted));
    auto changed = original;
    changed.back() = changed.back() == '0' ? '1' : '0';
    REQUIRE(f.lab.storage->put(altered, as_bytes(changed)));

    auto found = fsck(f);
    CHECK(kinds_and_keys(found) ==
          std::vector<std::string>{"manifest-differs " + altered, "manifest-missing " + deleted});
    auto repaired = fsck(f, true);
    CHECK(repaired.repaired() == 2);
    CHECK(repaired.clean());
    CHECK(object_text(f, altered) == original);
    auto rebuilt = encode_manifest(manifest_of(f, "main", path_named("m1")));
    REQUIRE(rebuilt);
    CHECK(object_text(f, deleted) == *rebuilt);
    CHECK(fsck(f).findings.empty());

    // Longer than the manifest is a difference too.
    REQUIRE(f.lab.storage->put(altered, as_bytes(original + "\n")));
    CHECK(kinds_and_keys(fsck(f)) == std::vector<std::string>{"manifest-differs " + altered});
}

TEST_CASE("fsck: an edge cache's narinfos and sync/plan are checked and rewritten", "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    auto p1 = path_named("e1");
    auto p2 = path_named("e2");
    push(f, "edge", lab.token, p1, many_chunk_nar(7));
    push(f, "edge", lab.token, p2, file_nar("two"));
    const auto plan_text = object_text(f, bucket_key::sync_plan());
    const auto served = f.call(Verb::get, "/edge/" + p2.hash + ".narinfo")->body;
    REQUIRE(f.lab.storage->remove(bucket_key::narinfo("edge", p1.hash)));
    REQUIRE(f.lab.storage->put(bucket_key::narinfo("edge", p2.hash),
                               as_bytes(served + "Sig: forged:AAAA\n")));
    REQUIRE(f.lab.storage->put(bucket_key::sync_plan(),
                               as_bytes(std::string("nixedge-sync-plan 1\n"))));
    REQUIRE(f.lab.storage->remove(bucket_key::nix_cache_info("edge")));

    auto found = fsck(f);
    CHECK(kinds_and_keys(found) ==
          std::vector<std::string>{"edge-differs " + bucket_key::narinfo("edge", p2.hash),
                                   "edge-differs sync/plan",
                                   "edge-missing " + bucket_key::narinfo("edge", p1.hash),
                                   "edge-missing edge/nix-cache-info"});

    auto repaired = fsck(f, true);
    CHECK(repaired.repaired() == 4);
    CHECK(repaired.clean());
    CHECK(object_text(f, bucket_key::narinfo("edge", p2.hash)) == served);
    CHECK(object_text(f, bucket_key::narinfo("edge", p1.hash)) ==
          f.call(Verb::get, "/edge/" + p1.hash + ".narinfo")->body);
    CHECK(object_text(f, bucket_key::sync_plan()) == plan_text);
    CHECK(object_text(f, bucket_key::nix_cache_info("edge")) == nix_cache_info_text(41));
    CHECK(fsck(f).findings.empty());

    // The layout marker is an edge object like the others.
    REQUIRE(f.lab.storage->remove(bucket_key::layout_marker()));
    CHECK(kinds_and_keys(fsck(f)) == std::vector<std::string>{"edge-missing nixedge-layout"});
}

TEST_CASE("fsck: objects of private, destroyed or unknown caches are removed", "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    f.create_cache("lab", /*is_public=*/false, /*edge=*/true);
    auto path = path_named("private");
    push(f, "lab", lab.token, path, file_nar("private bytes"));
    push(f, "edge", lab.token, path, file_nar("private bytes"));
    auto narinfo = f.call(Verb::get, "/lab/" + path.hash + ".narinfo", lab.token)->body;
    const std::vector<std::string> strays{
        bucket_key::narinfo("lab", path.hash), bucket_key::nix_cache_info("lab"),
        bucket_key::nix_cache_info("gone"),
        // A narinfo the edge cache no longer has (its path is gone).
        bucket_key::narinfo("edge", path_named("deleted").hash)};
    for (const auto& key : strays)
        REQUIRE(f.lab.storage->put(key, as_bytes(narinfo)));

    auto found = fsck(f);
    std::vector<std::string> expected;
    for (const auto& key : strays)
        expected.push_back("edge-unlisted " + key);
    std::sort(expected.begin(), expected.end());
    CHECK(kinds_and_keys(found) == expected);

    auto repaired = fsck(f, true);
    CHECK(repaired.repaired() == strays.size());
    for (const auto& key : strays)
        CHECK_FALSE(object_exists(f, key));
    CHECK(object_exists(f, bucket_key::narinfo("edge", path.hash)));
    CHECK(fsck(f).findings.empty());
}

TEST_CASE("fsck: orphans are reported, and repair removes only those past the grace period",
          "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    push(f, "main", lab.token, path_named("kept"), many_chunk_nar(8));
    const auto old_chunk = bucket_key::chunk(Sha256::digest(as_bytes(std::string("old"))));
    const auto new_chunk = bucket_key::chunk(Sha256::digest(as_bytes(std::string("new"))));
    const auto old_manifest = bucket_key::manifest(Sha256::digest(as_bytes(std::string("m"))));
    for (const auto& key : {old_chunk, new_chunk, old_manifest})
        REQUIRE(f.lab.storage->put(key, as_bytes(std::string("orphan bytes"))));
    for (const auto& key : {old_chunk, old_manifest})
        fs::last_write_time(object_file(f, key),
                            fs::file_time_type::clock::now() - std::chrono::hours(2));
    REQUIRE(f.lab.storage->put("notes/readme.txt", as_bytes(std::string("hello"))));

    std::vector<std::string> expected{"orphan " + old_chunk, "orphan " + new_chunk,
                                      "orphan " + old_manifest, "unknown-object notes/readme.txt"};
    std::sort(expected.begin(), expected.end());
    CHECK(kinds_and_keys(fsck(f)) == expected);

    auto repaired = fsck(f, true);
    CHECK(the_finding(repaired, FsckFindingKind::orphan, old_chunk).repaired);
    CHECK(the_finding(repaired, FsckFindingKind::orphan, old_manifest).repaired);
    auto& young = the_finding(repaired, FsckFindingKind::orphan, new_chunk);
    CHECK_FALSE(young.repaired);
    CHECK(young.action.find("grace period") != std::string::npos);
    CHECK_FALSE(
        the_finding(repaired, FsckFindingKind::unknown_object, "notes/readme.txt").repaired);
    CHECK_FALSE(object_exists(f, old_chunk));
    CHECK_FALSE(object_exists(f, old_manifest));
    CHECK(object_exists(f, new_chunk));
    CHECK(object_exists(f, "notes/readme.txt"));

    lab::FsckOptions no_grace;
    no_grace.orphan_grace = std::chrono::seconds(0);
    CHECK(fsck(f, true, no_grace).repaired() == 1);
    CHECK_FALSE(object_exists(f, new_chunk));
    CHECK(kinds_and_keys(fsck(f)) == std::vector<std::string>{"unknown-object notes/readme.txt"});
}

TEST_CASE("fsck: pending outbox entries are reported, and repair drains them first", "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    auto path = path_named("queued");
    push(f, "edge", lab.token, path, file_nar("queued"));
    // Changes made straight on the database, as the admin commands do:
    // their edge writes wait in the outbox for a server to drain them.
    lab::CacheSettingsUpdate priority;
    priority.priority = 30;
    REQUIRE(f.lab.metadata->update_cache("edge", priority));
    REQUIRE(f.lab.metadata->destroy_cache("main", 0).ok());
    f.create_cache("team", /*is_public=*/true, /*edge=*/true);
    auto pending = f.lab.metadata->pending_outbox(100).value();
    REQUIRE(pending.size() >= 3);

    auto found = fsck(f);
    CHECK(found.count(FsckFindingKind::outbox_pending) == pending.size());
    CHECK(
        the_finding(found, FsckFindingKind::outbox_pending, "edge/nix-cache-info").action.empty());
    // What the outbox owes shows as differences too, until it is drained.
    the_finding(found, FsckFindingKind::edge_differs, "edge/nix-cache-info");
    the_finding(found, FsckFindingKind::edge_missing, "team/nix-cache-info");

    auto repaired = fsck(f, true);
    INFO(lines_of(repaired));
    CHECK(repaired.count(FsckFindingKind::outbox_pending) == pending.size());
    CHECK(repaired.findings.size() == pending.size()); // nothing left to compare after the drain
    CHECK(repaired.clean());
    CHECK(f.lab.metadata->pending_outbox(100).value().empty());
    CHECK(object_text(f, "edge/nix-cache-info") == nix_cache_info_text(30));
    CHECK(object_exists(f, "team/nix-cache-info"));
    CHECK(fsck(f).findings.empty());
}

TEST_CASE("fsck: an unused NAR without its manifest object (an upload cut before writing it) "
          "is no difference",
          "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    const auto path = path_named("cut");
    push(f, "main", lab.token, path, file_nar("cut short"));
    const auto manifest = manifest_hash_of(f, "main", path);
    const std::string hashes[] = {std::string(path.hash)};
    REQUIRE(f.lab.metadata->remove_paths("main", hashes, {}).ok());
    REQUIRE(f.lab.metadata->get_nar(manifest).value()->unused_since);
    REQUIRE(f.lab.storage->remove(bucket_key::manifest(manifest)));
    CHECK(fsck(f).findings.empty());
}

TEST_CASE("fsck: findings and progress reach the callbacks as they come", "[fsck]") {
    PushedLab lab;
    auto& f = lab.f;
    push(f, "main", lab.token, path_named("cb"), file_nar("callbacks"));
    REQUIRE(
        f.lab.storage->remove(bucket_key::manifest(manifest_hash_of(f, "main", path_named("cb")))));
    std::vector<std::string> lines, stages;
    lab::FsckOptions options;
    options.on_finding = [&](const lab::FsckFinding& x) {
        lines.push_back(lab::format_finding(x));
    };
    options.on_progress = [&](std::string_view stage, std::uint64_t) {
        stages.emplace_back(stage);
    };
    auto report = fsck(f, true, options);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with("manifest-missing manifests/"));
    CHECK(lines[0].ends_with(" -> written from the database"));
    CHECK(stages == std::vector<std::string>{"outbox", "bucket", "database", "done"});
    CHECK(lab::format_summary(report).find("1 differences (manifest-missing 1): 1 repaired, 0 "
                                           "remaining") != std::string::npos);
}

// ---- the command line --------------------------------------------------------

namespace {

struct CliRun {
    int status = -1;
    std::string out;
    std::string err;
};

struct CliLab {
    TempDir dir;
    lab::FixedEnvironment env;

    CliLab() {
        std::ofstream(dir / "server.toml")
            << "[server]\ndata_dir = \"" << (dir / "data").string() << "\"\n";
        env.set(std::string(lab::config_file_variable), (dir / "server.toml").string());
    }

    CliRun run(std::vector<std::string> args) const {
        std::ostringstream out, err;
        CliRun result;
        result.status = lab::run_cli(std::move(args), out, err, env);
        result.out = out.str();
        result.err = err.str();
        return result;
    }

    fs::path bucket() const { return dir / "data" / "bucket"; }
};

} // namespace

TEST_CASE("fsck: the command exits 1 on a difference and 0 once repaired", "[fsck][cli]") {
    CliLab cli;
    // The cache command writes an edge cache's objects to the bucket; then
    // two of them go missing behind the lab's back.
    REQUIRE(cli.run({"cache", "create", "main", "--public", "--edge"}).status == 0);
    REQUIRE(fs::exists(cli.bucket() / "main" / "nix-cache-info"));
    fs::remove(cli.bucket() / "main" / "nix-cache-info");
    fs::remove(cli.bucket() / "nixedge-layout");

    auto found = cli.run({"fsck"});
    INFO(found.out << found.err);
    CHECK(found.status == 1);
    CHECK(found.out.find("edge-missing main/nix-cache-info: ") != std::string::npos);
    CHECK(found.out.find("edge-missing nixedge-layout: ") != std::string::npos);
    CHECK(found.out.find(" remaining\n") != std::string::npos);
    CHECK(found.err.find("run 'fsck --repair'") != std::string::npos);
    CHECK_FALSE(fs::exists(cli.bucket() / "main" / "nix-cache-info")); // only looked

    auto repaired = cli.run({"fsck", "--repair"});
    INFO(repaired.out << repaired.err);
    CHECK(repaired.status == 0);
    CHECK(repaired.out.find("edge-missing nixedge-layout: the sync plan lists it; no object -> "
                            "written from the database\n") != std::string::npos);
    CHECK(fs::exists(cli.bucket() / "main" / "nix-cache-info"));

    auto clean = cli.run({"fsck", "--verify-content"});
    CHECK(clean.status == 0);
    CHECK(clean.out.ends_with("no differences\n"));

    // An object removed behind the server's back: found, then mended.
    fs::remove(cli.bucket() / "sync" / "plan");
    CHECK(cli.run({"fsck"}).status == 1);
    CHECK(cli.run({"fsck", "--repair"}).status == 0);
    CHECK(cli.run({"fsck"}).status == 0);
}

TEST_CASE("fsck: the command's usage errors change nothing", "[fsck][cli]") {
    CliLab cli;
    auto bad = cli.run({"fsck", "--orphan-grace", "soon"});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("--orphan-grace") != std::string::npos);
    CHECK(cli.run({"fsck", "extra"}).status == 2);
    CHECK_FALSE(fs::exists(cli.dir / "data"));
    auto help = cli.run({"fsck", "--help"});
    CHECK(help.status == 0);
    CHECK(help.out.find("--repair") != std::string::npos);
    CHECK(cli.run({"help"}).out.find("fsck [--repair]") != std::string::npos);
}
