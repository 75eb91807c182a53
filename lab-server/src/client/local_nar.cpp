#include "client/local_nar.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nixedge::lab::client {
namespace {

Result<std::vector<std::string>> sorted_names(const std::filesystem::path& directory) {
    DIR* dir = ::opendir(directory.c_str());
    if (dir == nullptr)
        return make_error(ErrorCode::invalid_argument,
                          "cannot list " + directory.string() + ": " + std::strerror(errno));
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(dir)) {
        std::string_view name = entry->d_name;
        if (name != "." && name != "..")
            names.emplace_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end()); // bytewise, as Nix's std::map<std::string, ...>
    return names;
}

// The value of `key` in a store URI's query ("local?root=/x&y=z").
std::optional<std::string> query_value(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        std::string_view pair = query.substr(0, query.find('&'));
        if (pair.starts_with(key) && pair.substr(key.size()).starts_with("="))
            return std::string(pair.substr(key.size() + 1));
        if (pair.size() == query.size())
            break;
        query.remove_prefix(pair.size() + 1);
    }
    return std::nullopt;
}

} // namespace

std::optional<std::filesystem::path> local_store_root(std::string_view store) {
    if (store.empty() || store == "auto" || store == "daemon" || store.starts_with("unix://"))
        return std::filesystem::path("/");
    if (store.starts_with("/"))
        return std::filesystem::path(store);
    if (store == "local")
        return std::filesystem::path("/");
    if (store.starts_with("local?")) {
        auto root = query_value(store.substr(6), "root");
        return std::filesystem::path(root.value_or("/"));
    }
    return std::nullopt;
}

LocalNar::LocalNar(std::filesystem::path path, std::uint64_t expected_size)
    : root_(std::move(path)), expected_(expected_size) {}

LocalNar::LocalNar(LocalNar&& other) noexcept
    : root_(std::move(other.root_)), expected_(other.expected_), produced_(other.produced_),
      writer_(std::move(other.writer_)), pending_(std::move(other.pending_)),
      pending_offset_(other.pending_offset_), directories_(std::move(other.directories_)),
      started_(other.started_), fd_(std::exchange(other.fd_, -1)),
      file_path_(std::move(other.file_path_)), file_left_(other.file_left_) {}

LocalNar::~LocalNar() {
    if (fd_ >= 0)
        ::close(fd_);
}

Error LocalNar::failure(const std::string& what) const {
    return make_error(ErrorCode::invalid_argument, "the NAR of " + root_.string() + ": " + what);
}

Result<void> LocalNar::open_file(const std::filesystem::path& path, std::string_view name,
                                 std::uint64_t size, bool executable) {
    NarEvent event;
    event.type = NarEventType::file;
    event.name = name;
    event.size = size;
    event.executable = executable;
    if (auto added = writer_.add(event); !added)
        return added;
    if (size == 0)
        return end_file();
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
        return failure("cannot open " + path.string() + ": " + std::strerror(errno));
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    file_path_ = path;
    file_left_ = size;
    return {};
}

Result<void> LocalNar::end_file() {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    NarEvent end;
    end.type = NarEventType::end_file;
    return writer_.add(end);
}

Result<void> LocalNar::emit(const std::filesystem::path& path, std::string_view name) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0)
        return failure("cannot stat " + path.string() + ": " + std::strerror(errno));
    if (S_ISREG(info.st_mode))
        return open_file(path, name, static_cast<std::uint64_t>(info.st_size),
                         (info.st_mode & S_IXUSR) != 0);
    if (S_ISLNK(info.st_mode)) {
        std::error_code ec;
        auto target = std::filesystem::read_symlink(path, ec);
        if (ec)
            return failure("cannot read the link " + path.string() + ": " + ec.message());
        return writer_.symlink(name, target.string());
    }
    if (S_ISDIR(info.st_mode)) {
        auto names = sorted_names(path);
        if (!names)
            return names.error();
        if (auto started = writer_.start_directory(name); !started)
            return started;
        directories_.push_back(Directory{path, std::move(*names), 0});
        return {};
    }
    return failure(path.string() + " is neither a file, a directory nor a symlink");
}

Result<void> LocalNar::advance() {
    if (!started_) {
        started_ = true;
        return emit(root_, "");
    }
    Directory& top = directories_.back();
    if (top.next == top.names.size()) {
        directories_.pop_back();
        return writer_.end_directory();
    }
    const std::string& name = top.names[top.next++];
    return emit(top.path / name, name);
}

Result<std::size_t> LocalNar::read_contents(std::span<std::byte> buffer) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), file_left_));
    ssize_t n;
    do {
        n = ::read(fd_, buffer.data(), want);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return failure("cannot read " + file_path_.string() + ": " + std::strerror(errno));
    if (n == 0)
        return failure(file_path_.string() + " became shorter while it was read");
    auto got = static_cast<std::size_t>(n);
    if (auto counted = writer_.contents_sent_by_caller(got); !counted)
        return counted.error();
    file_left_ -= got;
    if (file_left_ == 0)
        if (auto ended = end_file(); !ended)
            return ended.error();
    return got;
}

Result<std::size_t> LocalNar::fill(std::span<std::byte> buffer) {
    std::size_t filled = 0;
    while (filled < buffer.size()) {
        if (pending_offset_ < pending_.size()) {
            std::size_t n = std::min(buffer.size() - filled, pending_.size() - pending_offset_);
            std::memcpy(buffer.data() + filled, pending_.data() + pending_offset_, n);
            pending_offset_ += n;
            filled += n;
            continue;
        }
        pending_ = writer_.take_output();
        pending_offset_ = 0;
        if (!pending_.empty())
            continue;
        if (fd_ >= 0) {
            auto got = read_contents(buffer.subspan(filled));
            if (!got)
                return got.error();
            filled += *got;
            continue;
        }
        if (writer_.done())
            break;
        if (auto advanced = advance(); !advanced)
            return advanced.error();
    }
    produced_ += filled;
    if (produced_ > expected_ || (filled == 0 && produced_ != expected_))
        return failure("it is " + std::string(produced_ > expected_ ? "longer" : "shorter") +
                       " than the " + std::to_string(expected_) +
                       " bytes the store recorded (changed on disk?)");
    return filled;
}

} // namespace nixedge::lab::client
