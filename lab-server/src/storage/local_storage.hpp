// Storage in a local directory: the key "chunks/ab12…" is the file
// <root>/chunks/ab12…. The embedded default, and what tests run against.
#pragma once

#include "storage/object_lister.hpp"
#include "storage/storage.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string_view>

namespace nixedge::lab {

// Temporary files are named "<prefix>XXXXXX" next to their target. Keys never
// have a segment starting with '.', so no key can name one.
inline constexpr std::string_view local_temp_prefix = ".nixedge-tmp-";

// A put never takes this long, so a temporary file this old was left by a
// crash. The sweep at open waits this long rather than assuming it is alone:
// another process (a second server, `nixedge-server fsck`) may share the root.
inline constexpr std::chrono::seconds stale_temp_age{15 * 60};

class LocalStorage final : public Storage, public ObjectLister {
  public:
    // Creates `root` if needed and sweeps temporary files older than `temp_age`.
    static Result<std::unique_ptr<LocalStorage>>
    open(const std::filesystem::path& root, std::chrono::seconds temp_age = stale_temp_age);

    Result<bool> exists(std::string_view key) override;
    // Durable when it returns: temp file, fsync, rename over the key, fsync of
    // the directory. A crash leaves the old state or the new object, and at
    // worst a temporary file that readers never see and sweeps remove.
    Result<void> put(std::string_view key, ByteView bytes) override;
    Result<std::unique_ptr<ObjectReader>> get(std::string_view key) override;
    Result<void> remove(std::string_view key) override;

    // Walks the directories depth first, each one's entries sorted so that
    // keys come out in byte order (a directory sorts as its name plus '/').
    // One directory's names are held at a time: a flat chunks/ of millions of
    // objects costs its names in memory. Files that are not valid keys
    // (temporary files, anything else named with a leading '.') are skipped.
    Result<void> list(std::string_view prefix, const ObjectVisitor& visit) override;

    // Removes temporary files last modified at least `min_age` ago; returns
    // how many. Zero age removes them all (only safe when no put is running).
    Result<std::size_t> sweep_temp_files(std::chrono::seconds min_age);

    const std::filesystem::path& root() const { return root_; }

  private:
    explicit LocalStorage(std::filesystem::path root) : root_(std::move(root)) {}
    Result<std::filesystem::path> path_of(std::string_view key) const;
    Result<void> make_parent_directories(std::string_view key) const;
    Result<void> list_directory(const std::string& key_prefix, std::string_view name_prefix,
                                const ObjectVisitor& visit) const;

    std::filesystem::path root_;
};

} // namespace nixedge::lab
