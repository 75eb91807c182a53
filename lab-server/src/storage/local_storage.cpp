#include "storage/local_storage.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

namespace nixedge::lab {

namespace fs = std::filesystem;

namespace {

// Owns a file descriptor; closes it on every path out.
class FileDescriptor {
  public:
    explicit FileDescriptor(int fd = -1) : fd_(fd) {}
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    FileDescriptor& operator=(FileDescriptor&&) = delete;
    FileDescriptor(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    // Closes now and reports the error: close can be where a write fails.
    int close() { return ::close(std::exchange(fd_, -1)); }

  private:
    int fd_;
};

Error os_error(std::string_view what, const fs::path& path, int err) {
    return make_error(ErrorCode::storage_unavailable, std::string(what) + " " + path.string() +
                                                          ": " +
                                                          std::system_category().message(err));
}

bool is_absent(int err) {
    return err == ENOENT || err == ENOTDIR;
}

Result<void> fsync_directory(const fs::path& dir) {
    FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid())
        return os_error("open directory", dir, errno);
    if (::fsync(fd.get()) != 0)
        return os_error("fsync directory", dir, errno);
    return {};
}

Result<void> write_all(int fd, ByteView bytes, const fs::path& path) {
    while (!bytes.empty()) {
        auto written = ::write(fd, bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0)
            return os_error("write", path, errno);
        bytes = bytes.subspan(static_cast<std::size_t>(written));
    }
    return {};
}

// Writes the whole object to the open temporary file and makes it durable.
Result<void> fill_temp_file(FileDescriptor& fd, ByteView bytes, const fs::path& temp) {
    // mkstemp creates 0600; objects are meant to be readable by other local
    // readers (a static file server, rclone) like any file the server writes.
    if (::fchmod(fd.get(), 0644) != 0)
        return os_error("chmod", temp, errno);
    if (auto ok = write_all(fd.get(), bytes, temp); !ok)
        return ok;
    if (::fsync(fd.get()) != 0)
        return os_error("fsync", temp, errno);
    if (fd.close() != 0)
        return os_error("close", temp, errno);
    return {};
}

class LocalObjectReader final : public ObjectReader {
  public:
    LocalObjectReader(FileDescriptor fd, std::uint64_t size, fs::path path)
        : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}

    std::uint64_t size() const override { return size_; }

    Result<std::size_t> read(std::span<std::uint8_t> out) override {
        while (true) {
            auto got = ::read(fd_.get(), out.data(), out.size());
            if (got >= 0)
                return static_cast<std::size_t>(got);
            if (errno != EINTR)
                return os_error("read", path_, errno);
        }
    }

  private:
    FileDescriptor fd_;
    std::uint64_t size_;
    fs::path path_;
};

bool is_temp_file_name(const fs::path& path) {
    return path.filename().string().starts_with(local_temp_prefix);
}

struct DirectoryEntry {
    std::string sort_name; // the name, with '/' after a directory's
    bool is_directory = false;
};

// Every key under a directory starts with its name and '/', so sorting
// directories as "name/" among files puts whole keys in byte order
// (std::string compares chars as unsigned, like S3). Dot-names are no keys.
Result<std::vector<DirectoryEntry>> sorted_entries(const fs::path& dir,
                                                   std::string_view name_prefix) {
    std::vector<DirectoryEntry> entries;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec && is_absent(ec.value()))
        return entries;
    for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (name.starts_with('.') || !name.starts_with(name_prefix))
            continue;
        std::error_code type_ec;
        bool directory = it->is_directory(type_ec);
        entries.push_back({directory ? name + "/" : std::move(name), directory});
    }
    if (ec)
        return os_error("list", dir, ec.value());
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.sort_name < b.sort_name; });
    return entries;
}

} // namespace

Result<std::unique_ptr<LocalStorage>> LocalStorage::open(const fs::path& root,
                                                         std::chrono::seconds temp_age) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec)
        return os_error("create directory", root, ec.value());
    std::unique_ptr<LocalStorage> storage(new LocalStorage(root));
    if (auto swept = storage->sweep_temp_files(temp_age); !swept)
        return swept.error();
    return storage;
}

Result<fs::path> LocalStorage::path_of(std::string_view key) const {
    if (auto ok = validate_object_key(key); !ok)
        return ok.error();
    return root_ / fs::path(key);
}

// Creates each missing directory of the key and syncs its parent, so the
// directory entry survives a crash along with the object inside it.
Result<void> LocalStorage::make_parent_directories(std::string_view key) const {
    fs::path dir = root_;
    std::size_t start = 0;
    for (auto slash = key.find('/'); slash != std::string_view::npos;
         slash = key.find('/', start)) {
        fs::path child = dir / fs::path(key.substr(start, slash - start));
        if (::mkdir(child.c_str(), 0755) == 0) {
            if (auto ok = fsync_directory(dir); !ok)
                return ok;
        } else if (errno != EEXIST) {
            return os_error("create directory", child, errno);
        }
        dir = std::move(child);
        start = slash + 1;
    }
    return {};
}

Result<bool> LocalStorage::exists(std::string_view key) {
    auto path = path_of(key);
    if (!path)
        return path.error();
    struct stat st {};
    if (::stat(path->c_str(), &st) != 0) {
        if (is_absent(errno))
            return false;
        return os_error("stat", *path, errno);
    }
    return S_ISREG(st.st_mode);
}

Result<void> LocalStorage::put(std::string_view key, ByteView bytes) {
    auto path = path_of(key);
    if (!path)
        return path.error();
    if (auto ok = make_parent_directories(key); !ok)
        return ok;
    const fs::path dir = path->parent_path();
    std::string temp_name = (dir / local_temp_prefix).string() + "XXXXXX";
    FileDescriptor fd(::mkostemp(temp_name.data(), O_CLOEXEC));
    if (!fd.valid())
        return os_error("create temporary file in", dir, errno);
    const fs::path temp(temp_name);
    auto filled = fill_temp_file(fd, bytes, temp);
    // Concurrent puts of one key each rename their own complete file; objects
    // are immutable, so whichever rename lands last installs the same bytes.
    if (filled && ::rename(temp.c_str(), path->c_str()) != 0)
        filled = os_error("rename into", *path, errno);
    if (!filled) {
        ::unlink(temp.c_str());
        return filled;
    }
    return fsync_directory(dir);
}

Result<std::unique_ptr<ObjectReader>> LocalStorage::get(std::string_view key) {
    auto path = path_of(key);
    if (!path)
        return path.error();
    FileDescriptor fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (is_absent(errno))
            return make_error(ErrorCode::not_found, "no object '" + std::string(key) + "'");
        return os_error("open", *path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return os_error("stat", *path, errno);
    if (!S_ISREG(st.st_mode))
        return make_error(ErrorCode::not_found, "no object '" + std::string(key) + "'");
    return std::unique_ptr<ObjectReader>(std::make_unique<LocalObjectReader>(
        std::move(fd), static_cast<std::uint64_t>(st.st_size), *path));
}

// Not followed by a directory fsync: a removal lost in a crash brings back an
// object nothing refers to, which the next GC pass removes again.
Result<void> LocalStorage::remove(std::string_view key) {
    auto path = path_of(key);
    if (!path)
        return path.error();
    if (::unlink(path->c_str()) != 0 && !is_absent(errno) && errno != EISDIR)
        return os_error("remove", *path, errno);
    return {};
}

Result<void> LocalStorage::list(std::string_view prefix, const ObjectVisitor& visit) {
    auto slash = prefix.rfind('/');
    std::string key_prefix;
    if (slash != std::string_view::npos) {
        if (auto ok = validate_object_key(prefix.substr(0, slash)); !ok)
            return ok;
        key_prefix = prefix.substr(0, slash + 1);
    }
    auto name_prefix = slash == std::string_view::npos ? prefix : prefix.substr(slash + 1);
    return list_directory(key_prefix, name_prefix, visit);
}

// `key_prefix` is "" or a directory's key with its '/'; only entries whose
// names start with `name_prefix` are visited (the partial last segment of
// list()'s prefix, so only ever at the first level).
Result<void> LocalStorage::list_directory(const std::string& key_prefix,
                                          std::string_view name_prefix,
                                          const ObjectVisitor& visit) const {
    const fs::path dir = key_prefix.empty() ? root_ : root_ / fs::path(key_prefix);
    auto entries = sorted_entries(dir, name_prefix);
    if (!entries)
        return entries.error();
    for (const auto& entry : *entries) {
        std::string key = key_prefix + entry.sort_name;
        if (entry.is_directory) {
            if (auto ok = list_directory(key, "", visit); !ok)
                return ok;
            continue;
        }
        if (!validate_object_key(key))
            continue;
        const fs::path file = dir / entry.sort_name;
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) {
            if (is_absent(errno))
                continue; // removed since the directory was read
            return os_error("stat", file, errno);
        }
        if (!S_ISREG(st.st_mode))
            continue;
        ObjectInfo info{key, static_cast<std::uint64_t>(st.st_size),
                        std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtime))};
        if (auto ok = visit(info); !ok)
            return ok;
    }
    return {};
}

Result<std::size_t> LocalStorage::sweep_temp_files(std::chrono::seconds min_age) {
    const auto cutoff = fs::file_time_type::clock::now() - min_age;
    std::error_code ec;
    std::vector<fs::path> stale;
    for (fs::recursive_directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
        if (!is_temp_file_name(it->path()))
            continue;
        // An entry that cannot be examined is left for the next sweep.
        std::error_code entry_ec;
        if (!it->is_regular_file(entry_ec))
            continue;
        auto modified = it->last_write_time(entry_ec);
        if (!entry_ec && modified <= cutoff)
            stale.push_back(it->path());
    }
    if (ec)
        return os_error("list", root_, ec.value());
    std::size_t removed = 0;
    for (const auto& path : stale) {
        // A file that vanished meanwhile was another sweep's; not an error.
        if (::unlink(path.c_str()) == 0)
            ++removed;
        else if (!is_absent(errno))
            return os_error("remove", path, errno);
    }
    return removed;
}

} // namespace nixedge::lab
