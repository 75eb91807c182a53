#include "client/text_files.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace nixedge::lab::client {
namespace {

Error file_error(std::string_view what, const std::filesystem::path& file, int error) {
    return make_error(ErrorCode::invalid_argument, "cannot " + std::string(what) + " " +
                                                       file.string() + ": " + std::strerror(error));
}

// 0, or the errno of the failed write.
int write_all(int fd, const std::string& text) {
    std::size_t written = 0;
    while (written < text.size()) {
        ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        written += static_cast<std::size_t>(n);
    }
    return 0;
}

} // namespace

Result<std::optional<std::string>> read_text_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        if (errno == ENOENT)
            return std::optional<std::string>{};
        return file_error("read", file, errno);
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        return file_error("read", file, errno);
    return std::optional<std::string>{text.str()};
}

Result<void> replace_text_file(const std::filesystem::path& file, const std::string& text,
                               mode_t mode) {
    auto directory = file.parent_path();
    if (!directory.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(directory, ec);
        if (ec)
            return file_error("create the directory", directory, ec.value());
        if (::chmod(directory.c_str(), 0700) != 0 && errno != EPERM)
            return file_error("set the mode of", directory, errno);
    }
    std::string temp = file.string() + ".tmp-XXXXXX";
    int fd = ::mkstemp(temp.data());
    if (fd < 0)
        return file_error("create a file beside", file, errno);
    Result<void> done;
    if (int error = write_all(fd, text); error != 0)
        done = file_error("write", temp, error);
    if (done && ::fchmod(fd, mode) != 0)
        done = file_error("set the mode of", temp, errno);
    if (done && ::fsync(fd) != 0)
        done = file_error("sync", temp, errno);
    ::close(fd);
    if (done && ::rename(temp.c_str(), file.c_str()) != 0)
        done = file_error("replace", file, errno);
    if (!done)
        ::unlink(temp.c_str());
    return done;
}

} // namespace nixedge::lab::client
