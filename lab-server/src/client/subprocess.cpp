#include "client/subprocess.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace nixedge::lab::client {
namespace {

Error failure(std::string detail) {
    return make_error(ErrorCode::invalid_argument, std::move(detail));
}

// Large pipe buffers: a NAR streams through it at hundreds of MB/s.
constexpr int pipe_bytes = 1 << 20;
constexpr std::size_t max_error_text = 4096;

void close_fd(int& fd) {
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}

} // namespace

Result<Subprocess> Subprocess::start(const std::vector<std::string>& argv, std::string name) {
    if (argv.empty())
        return failure("no program to run");
    if (name.empty())
        name = argv[0];
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return failure("pipe: " + std::string(std::strerror(errno)));
    ::fcntl(out[0], F_SETPIPE_SZ, pipe_bytes); // best effort
    std::FILE* err_file = std::tmpfile();
    if (err_file == nullptr) {
        ::close(out[0]);
        ::close(out[1]);
        return failure("tmpfile: " + std::string(std::strerror(errno)));
    }
    int err_fd = ::fcntl(::fileno(err_file), F_DUPFD_CLOEXEC, 0);
    std::fclose(err_file);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (spawned != 0) {
        ::close(out[0]);
        ::close(err_fd);
        return failure("cannot run " + argv[0] + ": " + std::strerror(spawned));
    }
    return Subprocess(pid, out[0], err_fd, std::move(name));
}

Subprocess::Subprocess(pid_t pid, int out_fd, int err_fd, std::string program)
    : pid_(pid), out_fd_(out_fd), err_fd_(err_fd), program_(std::move(program)) {}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), out_fd_(std::exchange(other.out_fd_, -1)),
      err_fd_(std::exchange(other.err_fd_, -1)), program_(std::move(other.program_)) {}

Subprocess::~Subprocess() {
    terminate();
    close_fd(out_fd_);
    close_fd(err_fd_);
}

void Subprocess::terminate() {
    if (pid_ <= 0)
        return;
    close_fd(out_fd_); // a writer blocked on the pipe gets EPIPE
    ::kill(pid_, SIGTERM);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

Result<std::size_t> Subprocess::read(std::span<std::byte> buffer) {
    if (out_fd_ < 0)
        return std::size_t{0};
    while (true) {
        ssize_t n = ::read(out_fd_, buffer.data(), buffer.size());
        if (n >= 0)
            return static_cast<std::size_t>(n);
        if (errno != EINTR)
            return failure("reading from " + program_ + ": " + std::strerror(errno));
    }
}

Result<std::string> Subprocess::read_all() {
    std::string text;
    std::byte buffer[65536];
    while (true) {
        auto n = read(buffer);
        if (!n)
            return n.error();
        if (*n == 0)
            return text;
        text.append(reinterpret_cast<const char*>(buffer), *n);
    }
}

std::string Subprocess::error_text() {
    std::string text;
    if (err_fd_ < 0 || ::lseek(err_fd_, 0, SEEK_SET) < 0)
        return text;
    char buffer[1024];
    ssize_t n;
    while (text.size() < max_error_text && (n = ::read(err_fd_, buffer, sizeof buffer)) > 0)
        text.append(buffer, static_cast<std::size_t>(n));
    // Nix prints warnings (a missing build group, say) and context before
    // its error: from its last "error:" line on is what failed.
    std::size_t error = text.rfind("error:");
    if (error != std::string::npos && (error == 0 || text[error - 1] == '\n'))
        text = text.substr(error + 6);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    while (!text.empty() && (text.front() == '\n' || text.front() == ' '))
        text.erase(0, 1);
    return text;
}

Result<void> Subprocess::wait() {
    if (pid_ <= 0)
        return failure(program_ + " was already waited for");
    close_fd(out_fd_);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
        if (errno != EINTR)
            return failure("waiting for " + program_ + ": " + std::strerror(errno));
    }
    pid_ = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {};
    std::string why = error_text();
    if (why.empty())
        why = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                  : "exit status " + std::to_string(WEXITSTATUS(status));
    return failure(program_ + ": " + why);
}

} // namespace nixedge::lab::client
