// A child process whose standard output the client reads as a stream (Nix's
// `path-info --json`, `store dump-path`), with its standard error kept aside
// for the message when it fails. Dropping a Subprocess that is still running
// ends it (SIGTERM) and reaps it, so an aborted push leaves no Nix behind.
#pragma once

#include "nixedge/result.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

namespace nixedge::lab::client {

class Subprocess {
  public:
    // Starts argv[0] (searched in PATH). invalid_argument when it cannot start.
    // `name` is how messages call it ("nix path-info"); default argv[0].
    static Result<Subprocess> start(const std::vector<std::string>& argv, std::string name = {});

    Subprocess(Subprocess&& other) noexcept;
    Subprocess& operator=(Subprocess&&) = delete;
    Subprocess(const Subprocess&) = delete;
    ~Subprocess();

    // Up to buffer.size() bytes of its output; 0 at the end of it.
    Result<std::size_t> read(std::span<std::byte> buffer);
    // Reads what is left of its output.
    Result<std::string> read_all();

    // Waits for it to exit; invalid_argument "<name>: <its error>"
    // unless it exited with status 0.
    Result<void> wait();

  private:
    Subprocess(pid_t pid, int out_fd, int err_fd, std::string program);
    void terminate();
    std::string error_text();

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1; // an unlinked temporary file
    std::string program_;
};

} // namespace nixedge::lab::client
