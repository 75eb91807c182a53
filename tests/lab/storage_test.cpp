// LocalStorage: the four calls and remove_many (and Storage's default one), atomic puts under
// concurrency, crash leftovers, key validation and streaming reads.
#include "storage/local_storage.hpp"

#include "nixedge/bucket_layout.hpp"
#include "nixedge/sha256.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace nixedge;
using namespace nixedge::lab;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<LocalStorage> open_storage(const fs::path& root) {
    auto storage = LocalStorage::open(root);
    REQUIRE(storage.ok());
    return std::move(storage).value();
}

// Deterministic, incompressible-looking bytes.
Bytes pattern_bytes(std::size_t size, std::uint32_t seed) {
    Bytes out(size);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& byte : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        byte = static_cast<std::uint8_t>(x);
    }
    return out;
}

Bytes read_whole(Storage& storage, std::string_view key) {
    auto bytes = read_object(storage, key, 1ull << 30);
    REQUIRE(bytes.ok());
    return std::move(bytes).value();
}

std::string chunk_key(const Bytes& raw) {
    return bucket_key::chunk(Sha256::digest(raw));
}

std::size_t count_temp_files(const fs::path& root) {
    std::size_t count = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root))
        if (entry.path().filename().string().starts_with(local_temp_prefix))
            ++count;
    return count;
}

void write_file(const fs::path& path, std::string_view text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

} // namespace

TEST_CASE("storage: put, exists, get round trip", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    auto bytes = pattern_bytes(100000, 1);
    auto key = chunk_key(bytes);

    CHECK(storage->exists(key).value() == false);
    REQUIRE(storage->put(key, bytes).ok());
    CHECK(storage->exists(key).value() == true);
    CHECK(fs::is_regular_file(dir.path() / key));

    auto reader = storage->get(key);
    REQUIRE(reader.ok());
    CHECK((*reader)->size() == bytes.size());
    CHECK(read_whole(*storage, key) == bytes);
    CHECK(count_temp_files(dir.path()) == 0);
}

TEST_CASE("storage: keys of every kind the bucket layout makes", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    const std::string hash = "0123456789abcdfghijklmnpqrsvwxyz";
    for (const auto& key :
         {bucket_key::layout_marker(), bucket_key::manifest(Sha256::digest(to_bytes("m"))),
          bucket_key::nix_cache_info("main"), bucket_key::narinfo("main", hash),
          bucket_key::listing("main", hash), bucket_key::sync_plan()}) {
        INFO(key);
        REQUIRE(storage->put(key, to_bytes(key)).ok());
        CHECK(read_whole(*storage, key) == to_bytes(key));
    }
}

TEST_CASE("storage: an empty object", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    REQUIRE(storage->put("sync/status", {}).ok());
    CHECK(storage->exists("sync/status").value());
    CHECK(read_whole(*storage, "sync/status").empty());
}

TEST_CASE("storage: put over an existing object replaces it whole", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    REQUIRE(storage->put("sync/plan", to_bytes("first plan, longer than the second")).ok());
    REQUIRE(storage->put("sync/plan", to_bytes("second")).ok());
    CHECK(read_whole(*storage, "sync/plan") == to_bytes("second"));
}

TEST_CASE("storage: remove is idempotent", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    REQUIRE(storage->put("main/nix-cache-info", to_bytes("StoreDir: /nix/store\n")).ok());
    CHECK(storage->remove("main/nix-cache-info").ok());
    CHECK(storage->exists("main/nix-cache-info").value() == false);
    CHECK(storage->remove("main/nix-cache-info").ok());
    CHECK(storage->remove("never/written").ok());
}

TEST_CASE("storage: remove_many removes every key given, missing ones too, and nothing else",
          "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    for (std::string key : {"main/a.narinfo", "main/b.narinfo", "main/a.ls", "chunks/aa"})
        REQUIRE(storage->put(key, to_bytes(key)).ok());
    CHECK(storage->remove_many({}).ok());
    const std::vector<std::string> keys{"main/a.narinfo", "main/a.ls", "never/written",
                                        "main/a.narinfo"};
    REQUIRE(storage->remove_many(keys).ok());
    CHECK_FALSE(storage->exists("main/a.narinfo").value());
    CHECK_FALSE(storage->exists("main/a.ls").value());
    CHECK(storage->exists("main/b.narinfo").value());
    CHECK(storage->exists("chunks/aa").value());
    CHECK(storage->remove_many(keys).ok());

    // Every key is checked before any is removed.
    const std::vector<std::string> with_bad{"main/b.narinfo", "../outside"};
    CHECK(storage->remove_many(with_bad).error().code == ErrorCode::invalid_argument);
    CHECK(storage->exists("main/b.narinfo").value());
}

namespace {

// A Storage that keeps only the four calls, so remove_many is the default
// one; records each remove and fails the one of `failing`.
class FourCalls final : public Storage {
  public:
    explicit FourCalls(Storage& inner) : inner_(inner) {}
    std::vector<std::string> removed;
    std::string failing;

    Result<bool> exists(std::string_view key) override { return inner_.exists(key); }
    Result<void> put(std::string_view key, ByteView bytes) override {
        return inner_.put(key, bytes);
    }
    Result<std::unique_ptr<ObjectReader>> get(std::string_view key) override {
        return inner_.get(key);
    }
    Result<void> remove(std::string_view key) override {
        removed.emplace_back(key);
        if (key == failing)
            return make_error(ErrorCode::storage_unavailable, "cannot remove " + failing);
        return inner_.remove(key);
    }

  private:
    Storage& inner_;
};

} // namespace

TEST_CASE("storage: the default remove_many removes one key after another, stopping at a failure",
          "[storage]") {
    test::TempDir dir;
    auto local = open_storage(dir.path());
    FourCalls storage(*local);
    for (std::string key : {"k/1", "k/2", "k/3", "k/4"})
        REQUIRE(storage.put(key, to_bytes(key)).ok());

    const std::vector<std::string> bad{"k/1", "k//2"};
    CHECK(storage.remove_many(bad).error().code == ErrorCode::invalid_argument);
    CHECK(storage.removed.empty());

    storage.failing = "k/3";
    const std::vector<std::string> keys{"k/1", "k/missing", "k/3", "k/4"};
    auto failed = storage.remove_many(keys);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == ErrorCode::storage_unavailable);
    CHECK(failed.error().detail == "cannot remove k/3");
    CHECK(storage.removed == std::vector<std::string>{"k/1", "k/missing", "k/3"});
    CHECK(storage.exists("k/4").value());

    storage.failing.clear();
    storage.removed.clear();
    REQUIRE(storage.remove_many(keys).ok());
    CHECK(storage.removed == keys);
    for (std::string key : {"k/1", "k/3", "k/4"})
        CHECK_FALSE(storage.exists(key).value());
    CHECK(storage.exists("k/2").value());
}

TEST_CASE("storage: a missing object is not_found, and so is a directory", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    auto missing = storage->get("chunks/00");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == ErrorCode::not_found);

    REQUIRE(storage->put("chunks/aa", to_bytes("x")).ok());
    CHECK(storage->exists("chunks").value() == false);
    auto directory = storage->get("chunks");
    REQUIRE_FALSE(directory.ok());
    CHECK(directory.error().code == ErrorCode::not_found);
    CHECK(storage->remove("chunks").ok());
    CHECK(storage->exists("chunks/aa").value());
}

TEST_CASE("storage: bad keys are rejected by every call", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    const std::vector<std::string> bad = {"",
                                          "/etc/passwd",
                                          "a//b",
                                          "a/",
                                          "..",
                                          "../outside",
                                          "a/../../outside",
                                          "a/./b",
                                          ".hidden",
                                          "chunks/.nixedge-tmp-abc123",
                                          "a\\b",
                                          std::string("a\0b", 3),
                                          "line\nbreak",
                                          std::string(max_object_key_length + 1, 'k')};
    for (const auto& key : bad) {
        INFO("key: " << key);
        CHECK(validate_object_key(key).error().code == ErrorCode::invalid_argument);
        CHECK(storage->put(key, to_bytes("x")).error().code == ErrorCode::invalid_argument);
        CHECK(storage->exists(key).error().code == ErrorCode::invalid_argument);
        CHECK(storage->get(key).error().code == ErrorCode::invalid_argument);
        CHECK(storage->remove(key).error().code == ErrorCode::invalid_argument);
    }
    CHECK_FALSE(fs::exists(dir.path().parent_path() / "outside"));
    CHECK(validate_object_key("a.b/c-d_e.narinfo").ok());
}

TEST_CASE("storage: a large object streams in pieces", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    auto bytes = pattern_bytes(10 << 20, 7);
    auto key = chunk_key(bytes);
    REQUIRE(storage->put(key, bytes).ok());

    auto reader = storage->get(key);
    REQUIRE(reader.ok());
    REQUIRE((*reader)->size() == bytes.size());
    Bytes piece(64 << 10), joined;
    std::size_t reads = 0;
    while (true) {
        auto got = (*reader)->read(piece);
        REQUIRE(got.ok());
        if (*got == 0)
            break;
        CHECK(*got <= piece.size());
        joined.insert(joined.end(), piece.begin(), piece.begin() + static_cast<long>(*got));
        ++reads;
    }
    CHECK(reads >= bytes.size() / piece.size());
    CHECK(joined == bytes);
}

TEST_CASE("storage: read_object refuses an object over its limit", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    REQUIRE(storage->put("sync/plan", pattern_bytes(1000, 3)).ok());
    CHECK(read_object(*storage, "sync/plan", 1000).ok());
    CHECK(read_object(*storage, "sync/plan", 999).error().code == ErrorCode::limit_exceeded);
}

TEST_CASE("storage: a reader keeps its object when the key is removed", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    auto bytes = pattern_bytes(4096, 5);
    REQUIRE(storage->put("manifests/ab", bytes).ok());
    auto reader = storage->get("manifests/ab");
    REQUIRE(reader.ok());
    REQUIRE(storage->remove("manifests/ab").ok());
    Bytes out(bytes.size());
    auto got = (*reader)->read(out);
    REQUIRE(got.ok());
    CHECK(*got == bytes.size());
    CHECK(out == bytes);
}

TEST_CASE("storage: concurrent puts of one key from many threads", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    const auto bytes = pattern_bytes(256 << 10, 11);
    const auto key = chunk_key(bytes);
    std::atomic<int> failures{0}, torn_reads{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10; ++i) {
                if (!storage->put(key, bytes))
                    ++failures;
                // A reader racing the writers sees nothing or the whole object.
                auto read = read_object(*storage, key, 1 << 20);
                if (!read || *read != bytes)
                    ++torn_reads;
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    CHECK(failures == 0);
    CHECK(torn_reads == 0);
    CHECK(read_whole(*storage, key) == bytes);
    CHECK(count_temp_files(dir.path()) == 0);
}

TEST_CASE("storage: temporary files left by a crash are invisible, then swept", "[storage]") {
    test::TempDir dir;
    const auto stray = dir.path() / "chunks" / (std::string(local_temp_prefix) + "a1b2c3");
    write_file(stray, "half a chunk");
    {
        auto storage = open_storage(dir.path());
        // Fresh: it could belong to a put still running in another process.
        CHECK(fs::exists(stray));
        CHECK(storage->exists("chunks").value() == false);
        auto removed = storage->sweep_temp_files(std::chrono::hours(1));
        REQUIRE(removed.ok());
        CHECK(*removed == 0);
        CHECK(fs::exists(stray));
    }
    // Old enough to be a crash's leftover: swept when storage opens.
    fs::last_write_time(stray, fs::file_time_type::clock::now() - std::chrono::hours(2));
    auto storage = open_storage(dir.path());
    CHECK_FALSE(fs::exists(stray));

    write_file(stray, "another");
    auto removed = storage->sweep_temp_files(std::chrono::seconds(0));
    REQUIRE(removed.ok());
    CHECK(*removed == 1);
    CHECK_FALSE(fs::exists(stray));
}

TEST_CASE("storage: file system failures are storage_unavailable with the cause", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    // A file where a directory of the key should be.
    write_file(dir.path() / "main", "not a directory");
    auto put = storage->put("main/nix-cache-info", to_bytes("x"));
    REQUIRE_FALSE(put.ok());
    CHECK(put.error().code == ErrorCode::storage_unavailable);
    CHECK_THAT(put.error().detail, Catch::Contains("Not a directory"));

    if (::geteuid() != 0) { // root ignores permissions
        fs::create_directories(dir.path() / "locked");
        fs::permissions(dir.path() / "locked", fs::perms::owner_read | fs::perms::owner_exec);
        auto denied = storage->put("locked/x", to_bytes("x"));
        REQUIRE_FALSE(denied.ok());
        CHECK(denied.error().code == ErrorCode::storage_unavailable);
        CHECK_THAT(denied.error().detail, Catch::Contains("Permission denied"));
        fs::permissions(dir.path() / "locked", fs::perms::owner_all);
    }
}

TEST_CASE("storage: open fails clearly when the root cannot be a directory", "[storage]") {
    test::TempDir dir;
    write_file(dir.path() / "file", "x");
    auto storage = LocalStorage::open(dir.path() / "file" / "root");
    REQUIRE_FALSE(storage.ok());
    CHECK(storage.error().code == ErrorCode::storage_unavailable);
}

TEST_CASE("storage: a put that fails midway leaves neither object nor temporary file",
          "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir.path());
    REQUIRE(storage->put("sync/plan", to_bytes("old plan")).ok());
    // A file size limit makes write() fail partway, as a full disk would.
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved;
    small.rlim_cur = 64 << 10;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    auto put = storage->put("sync/plan", pattern_bytes(1 << 20, 9));
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, previous_handler);

    REQUIRE_FALSE(put.ok());
    CHECK(put.error().code == ErrorCode::storage_unavailable);
    CHECK_THAT(put.error().detail, Catch::Contains("File too large"));
    CHECK(read_whole(*storage, "sync/plan") == to_bytes("old plan"));
    CHECK(count_temp_files(dir.path()) == 0);
}

namespace {

struct Listed {
    std::string key;
    std::uint64_t size = 0;
    bool has_time = false;
};

std::vector<Listed> list_all(LocalStorage& storage, std::string_view prefix) {
    std::vector<Listed> listed;
    auto ok = storage.list(prefix, [&](const ObjectInfo& info) -> Result<void> {
        listed.push_back({std::string(info.key), info.size, info.last_modified.has_value()});
        return {};
    });
    REQUIRE(ok.ok());
    return listed;
}

std::vector<std::string> keys_of(const std::vector<Listed>& listed) {
    std::vector<std::string> keys;
    for (const auto& entry : listed)
        keys.push_back(entry.key);
    return keys;
}

} // namespace

TEST_CASE("storage: a listing gives every object in byte order of keys", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir / "bucket");
    // "a-b" sorts before "a/x" ('-' < '/'), though the directory "a" sorts
    // before the file "a-b": the listing must follow the keys.
    for (std::string key :
         {"a/x", "a-b", "a/b/c", "B", "sync/plan", "a0", "chunks/ff", "chunks/0a"})
        REQUIRE(storage->put(key, as_bytes(key + " body")).ok());
    write_file(dir / "bucket" / "chunks" / (std::string(local_temp_prefix) + "leftover"), "tmp");

    auto listed = list_all(*storage, "");
    std::vector<std::string> expected{"B",  "a-b",       "a/b/c",     "a/x",
                                      "a0", "chunks/0a", "chunks/ff", "sync/plan"};
    CHECK(keys_of(listed) == expected);
    for (const auto& entry : listed) {
        CHECK(entry.size == entry.key.size() + 5);
        CHECK(entry.has_time);
    }
    CHECK(keys_of(list_all(*storage, "chunks/")) ==
          std::vector<std::string>{"chunks/0a", "chunks/ff"});
    CHECK(keys_of(list_all(*storage, "a")) ==
          std::vector<std::string>{"a-b", "a/b/c", "a/x", "a0"});
    CHECK(keys_of(list_all(*storage, "a/b")) == std::vector<std::string>{"a/b/c"});
    CHECK(list_all(*storage, "nothing/").empty());
    CHECK(storage->list("../", [](const ObjectInfo&) -> Result<void> { return {}; }).error().code ==
          ErrorCode::invalid_argument);
}

TEST_CASE("storage: a visitor's error stops the listing", "[storage]") {
    test::TempDir dir;
    auto storage = open_storage(dir / "bucket");
    for (std::string key : {"k1", "k2", "k3"})
        REQUIRE(storage->put(key, as_bytes(key)).ok());
    int visits = 0;
    auto stopped = storage->list("", [&](const ObjectInfo& info) -> Result<void> {
        ++visits;
        if (info.key == "k2")
            return make_error(ErrorCode::internal, "stop here");
        return {};
    });
    REQUIRE_FALSE(stopped.ok());
    CHECK(stopped.error().detail == "stop here");
    CHECK(visits == 2);
}
