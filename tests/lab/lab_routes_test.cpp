// The cache's endpoints through the real route table on a temporary data
// directory: Nix's push sequence, signed reads, Range, auth, the outbox and
// /readyz.
#include "lab_support.hpp"

#include "metadata/sqlite_connection.hpp"
#include "nixedge/bucket_layout.hpp"
#include "nixedge/keys.hpp"
#include "nixedge/zstd_frames.hpp"
#include "storage/storage.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

using namespace nixedge;
using namespace nixedge::test;
using lab::Permission;
using lab::http::Status;
using lab::http::Verb;

namespace {} // namespace

TEST_CASE("lab routes: a pushed path is served signed, with its NAR and listing", "[routes]") {
    LabFixture f;
    auto cache = f.create_cache("main");
    auto token = f.token({{"main", Permission::pull}, {"main", Permission::push}});
    auto path = path_named("hello");
    std::string nar = file_nar(std::string(3 << 20, 'h') + "tail");

    auto info = f.call(Verb::get, "/main/nix-cache-info", token);
    REQUIRE(info);
    CHECK(info->status == Status::ok);
    CHECK(info->body == "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 41\n");
    auto missing = f.call(Verb::get, "/main/" + path.hash + ".narinfo", token);
    CHECK(missing->status == Status::not_found);

    REQUIRE(push_path(f, "main", token, path, nar) == Status::ok);

    auto got = f.call(Verb::get, "/main/" + path.hash + ".narinfo", token);
    REQUIRE(got);
    REQUIRE(got->status == Status::ok);
    auto parsed = parse_narinfo(got->body);
    REQUIRE(parsed);
    CHECK(parsed->compression == "zstd");
    CHECK(parsed->nar_size == nar.size());
    CHECK(parsed->file_size.has_value());
    TrustedKeys trusted;
    REQUIRE(trusted.add(parse_public_key(cache.keys.front().public_key).value()));
    CHECK(verify_narinfo(*parsed, trusted) == cache.keys.front().name);

    auto body = f.call(Verb::get, "/main/" + parsed->url, token);
    REQUIRE(body);
    REQUIRE(body->status == Status::ok);
    CHECK(body->body.size() == *parsed->file_size);
    CHECK(decompress_frames(body->body) == nar);

    auto head = f.call(Verb::head, "/main/" + parsed->url, token);
    CHECK(head->status == Status::ok);
    CHECK(head->body.empty());

    auto listing = f.call(Verb::get, "/main/" + path.hash + ".ls", token);
    REQUIRE(listing);
    CHECK(listing->status == Status::ok);
    CHECK(listing->body.find("\"type\":\"regular\"") != std::string::npos);
}

namespace {

std::size_t objects_under(LabFixture& f, const std::string& prefix) {
    auto dir = f.lab.config.storage.path / prefix;
    if (!std::filesystem::exists(dir))
        return 0;
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                  std::filesystem::directory_iterator()));
}

} // namespace

TEST_CASE("lab routes: who may read and push", "[routes]") {
    LabFixture f;
    f.create_cache("main");
    f.create_cache("open", /*is_public=*/true);
    auto puller = f.token({{"main", Permission::pull}});
    auto pusher = f.token({{"main", Permission::pull}, {"main", Permission::push}});
    auto other = f.token({{"team-*", Permission::pull}});
    auto everything = f.token({{"*", Permission::pull}});
    auto path = path_named("p");
    std::string nar = file_nar("private bytes");

    // A private cache, and one that does not exist, look the same without a permission.
    for (std::string target : {"/main/nix-cache-info", "/nothing/nix-cache-info"}) {
        CHECK(f.call(Verb::get, target)->status == Status::unauthorized);
        CHECK(f.call(Verb::get, target, other)->status == Status::unauthorized);
    }
    CHECK(f.call(Verb::get, "/nothing/nix-cache-info", everything)->status == Status::not_found);
    CHECK(f.call(Verb::get, "/main/nix-cache-info", "not-a-token")->status == Status::unauthorized);
    CHECK(f.call(Verb::get, "/main/nix-cache-info", puller)->status == Status::ok);

    // Refused before the body is read, and nothing is stored.
    auto refused = f.call(Verb::put, "/main/" + nix_nar_url(nar), puller, nar);
    REQUIRE(refused);
    CHECK(refused->status == Status::forbidden);
    CHECK(refused->body_bytes_read == 0);
    CHECK(f.call(Verb::put, "/main/" + nix_nar_url(nar), "", nar)->status == Status::unauthorized);
    CHECK(objects_under(f, "chunks") == 0);
    CHECK(push_path(f, "main", pusher, path, nar) == Status::ok);

    // A public cache is readable by anyone, writable by no one without a token.
    CHECK(f.call(Verb::get, "/open/nix-cache-info")->status == Status::ok);
    CHECK(push_path(f, "open", "", path, nar) == Status::unauthorized);
    CHECK(f.call(Verb::get, "/open/" + path.hash + ".narinfo")->status == Status::not_found);
}

TEST_CASE("lab routes: a narinfo that does not match its NAR publishes nothing", "[routes]") {
    LabFixture f;
    f.create_cache("main");
    auto token = f.token({{"main", Permission::pull}, {"main", Permission::push}});
    auto path = path_named("p");
    std::string nar = file_nar("the real bytes");
    std::string other = file_nar("other bytes!!!");
    auto url = nix_nar_url(nar);
    REQUIRE(f.call(Verb::put, "/main/" + url, token, nar)->status == Status::ok);
    auto lying = client_narinfo(path, other, url); // NarHash and NarSize of other bytes
    auto put = f.call(Verb::put, "/main/" + path.hash + ".narinfo", token, lying);
    REQUIRE(put);
    CHECK(put->status == Status::bad_request);
    CHECK(put->body.find("NarHash") != std::string::npos);
    CHECK(f.call(Verb::get, "/main/" + path.hash + ".narinfo", token)->status == Status::not_found);

    // A NAR that was never uploaded, and a narinfo for another path.
    auto never = client_narinfo(path, other, nix_nar_url(other));
    CHECK(f.call(Verb::put, "/main/" + path.hash + ".narinfo", token, never)->status ==
          Status::bad_request);
    auto elsewhere = client_narinfo(path_named("q"), nar, url);
    CHECK(f.call(Verb::put, "/main/" + path.hash + ".narinfo", token, elsewhere)->status ==
          Status::bad_request);
    CHECK(f.call(Verb::put, "/main/" + path.hash + ".narinfo", token, "garbage")->status ==
          Status::bad_request);

    // A NAR that is not a NAR is refused at upload.
    CHECK(f.call(Verb::put, "/main/nar/x.nar", token, "not a nar")->status == Status::bad_request);
}

TEST_CASE("lab routes: published narinfos are immutable, references must exist", "[routes]") {
    LabFixture f;
    f.create_cache("main");
    auto token = f.token({{"main", Permission::pull}, {"main", Permission::push}});
    auto dep = path_named("dep");
    auto top = path_named("top");
    std::string dep_nar = file_nar("dependency");
    std::string top_nar = file_nar("top level");

    CHECK(push_path(f, "main", token, top, top_nar, {dep}) == Status::bad_request);
    CHECK(push_path(f, "main", token, dep, dep_nar) == Status::ok);
    CHECK(push_path(f, "main", token, top, top_nar, {dep}) == Status::ok);
    auto before = f.call(Verb::get, "/main/" + top.hash + ".narinfo", token)->body;
    CHECK(push_path(f, "main", token, top, top_nar, {dep}) == Status::ok); // same NarHash: no-op
    CHECK(push_path(f, "main", token, top, file_nar("changed"), {dep}) == Status::conflict);
    CHECK(f.call(Verb::get, "/main/" + top.hash + ".narinfo", token)->body == before);
}

TEST_CASE("lab routes: a narinfo whose shared upload another push already published is a no-op",
          "[routes]") {
    // Two clients (or two replicas' clients) push the same path at once: both
    // find the NAR missing and upload it under the same URL, the first
    // narinfo publishes and takes the staged upload, the second narinfo
    // finds none. It must succeed (same NarHash: no-op), not ask for the NAR.
    LabFixture f;
    f.create_cache("main");
    auto token = f.token({{"main", Permission::pull}, {"main", Permission::push}});
    auto path = path_named("shared");
    std::string nar = file_nar("the same content, pushed twice at once");
    auto url = nix_nar_url(nar);
    for (int i = 0; i < 2; ++i)
        REQUIRE(f.call(Verb::put, "/main/" + url, token, nar)->status == Status::ok);
    auto narinfo = client_narinfo(path, nar, url, {});
    CHECK(f.call(Verb::put, "/main/" + path.hash + ".narinfo", token, narinfo)->status ==
          Status::ok);
    auto before = f.call(Verb::get, "/main/" + path.hash + ".narinfo", token)->body;
    CHECK(f.call(Verb::put, "/main/" + path.hash + ".narinfo", token, narinfo)->status ==
          Status::ok);
    CHECK(f.call(Verb::get, "/main/" + path.hash + ".narinfo", token)->body == before);
    // Without an upload, a narinfo for a path not published is still refused.
    auto other = path_named("other");
    CHECK(f.call(Verb::put, "/main/" + other.hash + ".narinfo", token,
                 client_narinfo(other, file_nar("never uploaded"), "nar/x.nar", {}))
              ->status == Status::bad_request);
}

TEST_CASE("lab routes: byte ranges of a multi-chunk NAR", "[routes]") {
    LabFixture f;
    f.create_cache("main", /*is_public=*/true);
    auto token = f.token({{"main", Permission::push}});
    std::string contents;
    for (std::int64_t i = 0; contents.size() < (9u << 20); ++i)
        contents += std::to_string(i * 7919) + ",";
    auto path = path_named("big");
    std::string nar = file_nar(contents);
    REQUIRE(push_path(f, "main", token, path, nar) == Status::ok);
    auto info = parse_narinfo(f.call(Verb::get, "/main/" + path.hash + ".narinfo")->body);
    REQUIRE(info);
    auto full = f.call(Verb::get, "/main/" + info->url)->body;
    REQUIRE(full.size() == *info->file_size);
    CHECK(decompress_frames(full) == nar);

    auto total = full.size();
    for (auto [header, first, last] :
         std::vector<std::tuple<std::string, std::size_t, std::size_t>>{
             {"bytes=0-0", 0, 0},
             {"bytes=1000-" + std::to_string(total / 2), 1000, total / 2},
             {"bytes=" + std::to_string(total - 10) + "-", total - 10, total - 1},
             {"bytes=-5", total - 5, total - 1},
         }) {
        INFO(header);
        auto part = f.call(Verb::get, "/main/" + info->url, "", "", header);
        REQUIRE(part);
        CHECK(part->status == Status::partial_content);
        CHECK(part->body == full.substr(first, last - first + 1));
        CHECK(part->headers["Content-Range"] == "bytes " + std::to_string(first) + "-" +
                                                    std::to_string(last) + "/" +
                                                    std::to_string(total));
    }
    auto beyond =
        f.call(Verb::get, "/main/" + info->url, "", "", "bytes=" + std::to_string(total) + "-");
    CHECK(beyond->status == Status::range_not_satisfiable);
    CHECK(beyond->headers["Content-Range"] == "bytes */" + std::to_string(total));

    // Only under a cache that has a path using it; and a chunk gone missing
    // breaks the stream instead of ending it short.
    f.create_cache("empty", true);
    CHECK(f.call(Verb::get, "/empty/" + info->url)->status == Status::not_found);
    auto manifest = f.lab.metadata->manifest(parse_nar_url(info->url).value());
    REQUIRE(manifest);
    REQUIRE(f.lab.storage->remove(bucket_key::chunk((*manifest)->chunks.back().hash)));
    CHECK_FALSE(f.call(Verb::get, "/main/" + info->url));
}

TEST_CASE("lab routes: a second push of the same content stores nothing", "[routes]") {
    LabFixture f;
    f.create_cache("main");
    auto token = f.token({{"main", Permission::pull}, {"main", Permission::push}});
    std::string nar = file_nar(std::string(2 << 20, 'x') + std::string(2 << 20, 'y'));
    REQUIRE(push_path(f, "main", token, path_named("a"), nar) == Status::ok);
    auto chunks = objects_under(f, "chunks");
    auto stored = f.context->metrics.stored_bytes->value();
    CHECK(chunks > 0);
    REQUIRE(push_path(f, "main", token, path_named("b"), nar) == Status::ok);
    CHECK(objects_under(f, "chunks") == chunks);
    CHECK(f.context->metrics.stored_bytes->value() == stored);
    CHECK(f.context->metrics.chunks_deduplicated->value() > 0);
}

TEST_CASE("lab routes: an edge cache's objects reach the bucket before the answer", "[routes]") {
    LabFixture f;
    f.create_cache("edge", /*is_public=*/true, /*edge=*/true);
    f.create_cache("lab", /*is_public=*/false, /*edge=*/true);
    auto token = f.token({{"*", Permission::pull}, {"*", Permission::push}});
    auto path = path_named("p");
    std::string nar = file_nar("edge bytes");
    CHECK(push_path(f, "edge", token, path, nar) == Status::ok);
    CHECK(push_path(f, "lab", token, path, nar) == Status::ok);

    auto served = f.call(Verb::get, "/edge/" + path.hash + ".narinfo")->body;
    CHECK(object_text(f, bucket_key::narinfo("edge", path.hash)) == served);
    CHECK(object_text(f, bucket_key::nix_cache_info("edge")) ==
          f.call(Verb::get, "/edge/nix-cache-info")->body);
    auto plan = decode_sync_plan(object_text(f, bucket_key::sync_plan()));
    REQUIRE(plan);
    CHECK(std::count(plan->mutable_keys.begin(), plan->mutable_keys.end(),
                     bucket_key::narinfo("edge", path.hash)) == 1);
    // The private cache never leaves the lab.
    CHECK_FALSE(f.lab.storage->exists(bucket_key::narinfo("lab", path.hash)).value());
    CHECK(std::none_of(plan->mutable_keys.begin(), plan->mutable_keys.end(),
                       [](const std::string& key) { return key.starts_with("lab/"); }));
    CHECK(f.lab.metadata->pending_outbox(10)->empty());
}

TEST_CASE("lab routes: metrics count chunks stored and deduplicated, and storage", "[routes]") {
    LabFixture f;
    f.create_cache("main");
    auto token = f.token({{"main", Permission::pull}, {"main", Permission::push}});
    std::string nar = file_nar(std::string(3 << 20, 'm'));
    REQUIRE(push_path(f, "main", token, path_named("a"), nar) == Status::ok);
    REQUIRE(push_path(f, "main", token, path_named("b"), nar) == Status::ok);
    auto metrics = f.call(Verb::get, "/metrics");
    REQUIRE(metrics);
    REQUIRE(metrics->status == Status::ok);
    auto value_of = [&](const std::string& name) {
        auto at = metrics->body.find("\n" + name + " ");
        REQUIRE(at != std::string::npos);
        return std::stod(metrics->body.substr(at + name.size() + 2));
    };
    auto chunks = value_of("nixedge_storage_chunks");
    CHECK(chunks > 0);
    CHECK(value_of("nixedge_chunks_stored_total") == chunks);
    CHECK(value_of("nixedge_chunks_deduplicated_total") == chunks);
    CHECK(value_of("nixedge_nars_ingested_total") == 2);
    CHECK(value_of("nixedge_paths_published_total") == 2);
    CHECK(value_of("nixedge_paths") == 2);
    CHECK(value_of("nixedge_storage_raw_bytes") == nar.size());
    CHECK(value_of("nixedge_storage_chunk_bytes") == value_of("nixedge_chunk_stored_bytes_total"));
}

TEST_CASE("lab routes: concurrent uploads of the same NAR store each chunk once", "[routes]") {
    LabFixture f;
    f.create_cache("main");
    auto token = f.token({{"main", Permission::pull}, {"main", Permission::push}});
    std::string contents;
    for (std::int64_t i = 0; contents.size() < (12u << 20); ++i)
        contents += std::to_string(i * 104729) + ";";
    std::string nar = file_nar(contents);
    auto url = "/main/" + nix_nar_url(nar);
    std::vector<std::thread> uploaders;
    std::vector<Status> statuses(4, Status::internal_server_error);
    for (std::size_t i = 0; i < statuses.size(); ++i)
        uploaders.emplace_back([&, i] {
            auto put = f.call(Verb::put, url, token, nar);
            if (put)
                statuses[i] = put->status;
        });
    for (auto& t : uploaders)
        t.join();
    for (auto status : statuses)
        CHECK(status == Status::ok);
    auto totals = f.lab.metadata->storage_totals();
    REQUIRE(totals);
    CHECK(totals->chunks == objects_under(f, "chunks"));
    CHECK(totals->raw_bytes <= nar.size()); // each distinct chunk once
    CHECK(totals->nars == 1);
    REQUIRE(push_path(f, "main", token, path_named("same"), nar) == Status::ok);
    auto info = parse_narinfo(
        f.call(Verb::get, "/main/" + path_named("same").hash + ".narinfo", token)->body);
    REQUIRE(info);
    CHECK(decompress_frames(f.call(Verb::get, "/main/" + info->url, token)->body) == nar);
}

TEST_CASE("lab routes: narinfo and NAR uploads over their caps are refused", "[routes]") {
    LabFixture f("[server.limits]\nmax_narinfo_bytes = 1024\nmax_nar_bytes = 1048576\n");
    f.create_cache("main");
    auto token = f.token({{"main", Permission::pull}, {"main", Permission::push}});
    auto big_narinfo = f.call(Verb::put, "/main/" + path_named("x").hash + ".narinfo", token,
                              std::string(2048, 'x'));
    CHECK(big_narinfo->status == Status::payload_too_large);
    std::string nar = file_nar(std::string(2 << 20, 'n'));
    auto big_nar = f.call(Verb::put, "/main/" + nix_nar_url(nar), token, nar);
    CHECK(big_nar->status == Status::payload_too_large);
    CHECK_FALSE(f.lab.metadata->find_staged("main", nix_nar_url(nar)).value().has_value());
}

TEST_CASE("lab routes: cache settings are read at most max_age ago", "[routes]") {
    LabFixture f;
    f.create_cache("main");
    lab::CacheDirectory directory(f.lab.metadata, std::chrono::milliseconds(200));
    REQUIRE_FALSE(directory.find("main").value()->settings.is_public);
    REQUIRE_FALSE(directory.find("later").value().has_value());
    lab::CacheSettingsUpdate update;
    update.is_public = true;
    REQUIRE(f.lab.metadata->update_cache("main", update));
    f.create_cache("later");
    CHECK_FALSE(directory.find("main").value()->settings.is_public); // remembered
    CHECK_FALSE(directory.find("later").value().has_value());
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    CHECK(directory.find("main").value()->settings.is_public);
    CHECK(directory.find("later").value().has_value());
}

TEST_CASE("lab routes: the narinfo cache keeps found narinfos within its age and size",
          "[routes]") {
    lab::NarinfoCache cache(100, std::chrono::milliseconds(200));
    cache.insert("main", "a", std::string(40, 'a'));
    cache.insert("main", "b", std::string(40, 'b'));
    CHECK(cache.find("main", "a") == std::string(40, 'a')); // a is now the most recent
    cache.insert("main", "c", std::string(40, 'c'));        // over 100 bytes: b goes
    CHECK_FALSE(cache.find("main", "b"));
    CHECK(cache.find("main", "a"));
    CHECK(cache.find("main", "c"));
    CHECK_FALSE(cache.find("other", "a"));
    cache.insert("main", "big", std::string(101, 'x')); // never fits
    CHECK_FALSE(cache.find("main", "big"));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    CHECK_FALSE(cache.find("main", "a"));
}

namespace {

// A bucket that fails every call while `down`, as an S3 endpoint that stopped.
class FlakyStorage final : public lab::Storage {
  public:
    explicit FlakyStorage(std::shared_ptr<lab::Storage> inner) : inner_(std::move(inner)) {}
    Result<bool> exists(std::string_view key) override {
        if (down)
            return unavailable();
        return inner_->exists(key);
    }
    Result<void> put(std::string_view key, ByteView bytes) override {
        if (down)
            return unavailable();
        return inner_->put(key, bytes);
    }
    Result<std::unique_ptr<lab::ObjectReader>> get(std::string_view key) override {
        if (down)
            return unavailable();
        return inner_->get(key);
    }
    Result<void> remove(std::string_view key) override {
        if (down)
            return unavailable();
        return inner_->remove(key);
    }

    std::atomic<bool> down = false;

  private:
    static Error unavailable() {
        return make_error(ErrorCode::storage_unavailable,
                          "S3 HEAD http://rgw.lab.invalid/bucket: Couldn't connect to server");
    }
    std::shared_ptr<lab::Storage> inner_;
};

// Runs `sql` on the lab's SQLite database through a connection of its own.
void run_sql(LabFixture& f, const std::string& sql) {
    auto c = lab::SqliteConnection::open(f.lab.config.database.sqlite_file(),
                                         std::chrono::milliseconds(5000));
    REQUIRE(c);
    REQUIRE((*c)->exec(sql.c_str()));
}

struct Readyz {
    Status status;
    std::vector<std::string> down; // from the 503's body
};

Readyz readyz(lab::http::Router& router) {
    auto res = lab::http::testing::call(router, Verb::get, "/readyz");
    REQUIRE(res);
    Readyz r{res->status, {}};
    if (res->status != Status::ok) {
        auto body = nlohmann::json::parse(res->body);
        CHECK(body["error"] == "service_unavailable");
        CHECK(res->body.find("rgw.lab.invalid") == std::string::npos); // details go to the log
        r.down = body["down"].get<std::vector<std::string>>();
    }
    return r;
}

} // namespace

TEST_CASE("lab routes: /readyz is 503 naming the database or the bucket while it fails",
          "[routes]") {
    LabFixture f;
    auto storage = std::make_shared<FlakyStorage>(f.lab.storage);
    f.lab.storage = storage;
    // No caching of probe results: every request probes.
    auto made = lab::make_lab_router(*f.context, f.metrics, {.max_age = {}});
    REQUIRE(made);
    auto& router = **made;
    using V = std::vector<std::string>;

    // No layout marker in this bucket: a missing object is an answer too.
    REQUIRE_FALSE(storage->exists(bucket_key::layout_marker()).value());
    CHECK(readyz(router).status == Status::ok);

    storage->down = true;
    auto r = readyz(router);
    CHECK(r.status == Status::service_unavailable);
    CHECK(r.down == V{"storage"});
    // Liveness is not readiness.
    CHECK(lab::http::testing::call(router, Verb::get, "/healthz")->status == Status::ok);

    // The database stops answering the store's queries (its schema is gone).
    run_sql(f, "ALTER TABLE schema_migrations RENAME TO schema_migrations_away");
    CHECK(readyz(router).down == V{"database", "storage"});
    storage->down = false;
    r = readyz(router);
    CHECK(r.status == Status::service_unavailable);
    CHECK(r.down == V{"database"});

    run_sql(f, "ALTER TABLE schema_migrations_away RENAME TO schema_migrations");
    CHECK(readyz(router).status == Status::ok);
}
