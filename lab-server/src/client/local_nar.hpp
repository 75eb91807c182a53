// The NAR of a store path read straight from the file system, as
// `nix-store --dump` makes it (entries sorted by name, a file executable when
// its owner may execute it), streamed into the upload buffer: the framing
// comes from the core's NarWriter, file contents are read from disk into the
// caller's buffer with no copy in between. It replaces a `nix store
// dump-path` process and a pipe per path when the store is on this machine:
// on a closure of many paths those cost more CPU than the bytes themselves.
// The server checks the NarHash and NarSize of every upload, so a tree that
// changed on disk is refused, never published.
#pragma once

#include "client/http_client.hpp"
#include "nixedge/nar.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::client {

// Where a store's paths are on this machine's file system, for a --store
// value: "" (Nix's default), "auto", "local", "daemon", "unix://...": "/";
// "/some/root" or "local?root=/some/root": "/some/root". nullopt for a store
// elsewhere (ssh://, s3://, http://...): its NARs come from Nix.
std::optional<std::filesystem::path> local_store_root(std::string_view store);

class LocalNar final : public BodySource {
  public:
    // The NAR of `path` (a file, directory or symlink), which must come to
    // exactly `expected_size` bytes.
    LocalNar(std::filesystem::path path, std::uint64_t expected_size);
    LocalNar(LocalNar&&) noexcept;
    ~LocalNar() override;

    Result<std::size_t> fill(std::span<std::byte> buffer) override;

  private:
    struct Directory {
        std::filesystem::path path;
        std::vector<std::string> names; // sorted as Nix sorts them: bytewise
        std::size_t next = 0;
    };

    Result<void> advance(); // emits the next entry's framing
    Result<void> emit(const std::filesystem::path& path, std::string_view name);
    Result<void> open_file(const std::filesystem::path& path, std::string_view name,
                           std::uint64_t size, bool executable);
    Result<void> end_file();
    Result<std::size_t> read_contents(std::span<std::byte> buffer);
    Error failure(const std::string& what) const;

    std::filesystem::path root_;
    std::uint64_t expected_ = 0;
    std::uint64_t produced_ = 0;
    NarWriter writer_;
    Bytes pending_; // framing not yet handed out
    std::size_t pending_offset_ = 0;
    std::vector<Directory> directories_;
    bool started_ = false;
    int fd_ = -1; // the file whose contents are being sent
    std::filesystem::path file_path_;
    std::uint64_t file_left_ = 0;
};

} // namespace nixedge::lab::client
