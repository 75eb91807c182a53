// The local Nix store as the client sees it, through the real `nix` command:
// path infos (`nix path-info --json [--recursive]`) and NARs streamed from
// `nix store dump-path` (the NAR of a path as the store serves it, so a
// chroot store given with --store works as well as the default one).
#pragma once

#include "client/http_client.hpp"
#include "client/subprocess.hpp"
#include "nixedge/nix_hash.hpp"
#include "nixedge/store_path.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nixedge::lab::client {

struct NixStoreOptions {
    std::string store; // nix's --store; empty: the default store
    std::string program = "nix";
};

struct LocalPathInfo {
    StorePath path;
    NixHash nar_hash;
    std::uint64_t nar_size = 0;
    std::vector<std::string> references; // full paths
    std::optional<std::string> deriver;  // full path
    std::vector<std::string> signatures; // "<key name>:<base64>"
    std::optional<std::string> ca;
};

// What `nix path-info --json` prints (Nix 2.8: an array of objects with
// path, narHash, narSize, references, and deriver, signatures, ca when set).
// invalid_argument naming the entry when one is malformed or not valid.
Result<std::vector<LocalPathInfo>> parse_path_info_json(std::string_view json);

// A PATH argument as the store path it names: a store path (or a file in
// one: /nix/store/<hash>-x/bin/y names /nix/store/<hash>-x), or a symlink
// that leads to one, such as ./result. invalid_argument otherwise: Nix would
// read a directory that is neither as a flake.
Result<std::string> resolve_store_path_argument(std::string_view argument);

// The infos of `paths` (store paths), with their closures when `closure`;
// Nix's own message when a path is not valid. Nothing is substituted or
// built to answer (`substitute = false`): a push sends what the store holds.
Result<std::vector<LocalPathInfo>> query_path_infos(const NixStoreOptions& options,
                                                    const std::vector<std::string>& paths,
                                                    bool closure);

// The NAR of one path, as a body to upload: exactly `nar_size` bytes, or an
// error (Nix failed, or gave more or fewer bytes than the store recorded).
class NarDump final : public BodySource {
  public:
    static Result<NarDump> start(const NixStoreOptions& options, const LocalPathInfo& info);
    Result<std::size_t> fill(std::span<std::byte> buffer) override;

  private:
    NarDump(Subprocess process, std::string path, std::uint64_t expected)
        : process_(std::move(process)), path_(std::move(path)), expected_(expected) {}
    Subprocess process_;
    std::string path_;
    std::uint64_t expected_ = 0;
    std::uint64_t produced_ = 0;
    bool finished_ = false;
};

// The NAR of one path to upload: read from the file system when the store is
// on this machine (local_nar.hpp), else streamed from `nix store dump-path`.
Result<std::unique_ptr<BodySource>> open_nar(const NixStoreOptions& options,
                                             const LocalPathInfo& info);

} // namespace nixedge::lab::client
