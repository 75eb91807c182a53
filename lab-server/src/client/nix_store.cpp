#include "client/nix_store.hpp"

#include "client/local_nar.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

namespace nixedge::lab::client {
namespace {

using Json = nlohmann::json;

Error invalid(std::string detail) {
    return make_error(ErrorCode::invalid_argument, std::move(detail));
}

std::vector<std::string> nix_command(const NixStoreOptions& options,
                                     std::initializer_list<std::string> words) {
    std::vector<std::string> argv{options.program, "--extra-experimental-features", "nix-command"};
    argv.insert(argv.end(), words);
    if (!options.store.empty()) {
        argv.push_back("--store");
        argv.push_back(options.store);
    }
    return argv;
}

Result<std::optional<std::string>> optional_string(const Json& entry, const char* key) {
    auto found = entry.find(key);
    if (found == entry.end() || found->is_null())
        return std::optional<std::string>{};
    if (!found->is_string())
        return invalid(std::string(key) + " is not a string");
    return std::optional<std::string>{found->get<std::string>()};
}

Result<std::vector<std::string>> string_list(const Json& entry, const char* key) {
    std::vector<std::string> list;
    auto found = entry.find(key);
    if (found == entry.end() || found->is_null())
        return list;
    if (!found->is_array())
        return invalid(std::string(key) + " is not a list");
    for (const auto& item : *found) {
        if (!item.is_string())
            return invalid(std::string(key) + " holds a value that is not a string");
        list.push_back(item.get<std::string>());
    }
    return list;
}

Result<LocalPathInfo> read_entry(const Json& entry) {
    if (!entry.is_object())
        return invalid("an entry is not an object");
    auto path_text = optional_string(entry, "path");
    if (!path_text || !*path_text)
        return invalid("an entry has no path");
    auto path = parse_store_path(**path_text);
    if (!path)
        return invalid(**path_text + ": " + path.error().detail);
    if (entry.contains("valid") && entry["valid"] == false)
        return invalid("path '" + **path_text + "' is not valid in the Nix store");
    LocalPathInfo info;
    info.path = std::move(*path);
    auto where = [&](const Error& error) { return invalid(**path_text + ": " + error.detail); };
    auto hash_text = optional_string(entry, "narHash");
    if (!hash_text || !*hash_text)
        return invalid(**path_text + ": no narHash");
    auto hash = parse_nix_hash(**hash_text);
    if (!hash)
        return where(hash.error());
    info.nar_hash = *hash;
    auto size = entry.find("narSize");
    if (size == entry.end() || !size->is_number_unsigned())
        return invalid(**path_text + ": no narSize");
    info.nar_size = size->get<std::uint64_t>();
    auto references = string_list(entry, "references");
    if (!references)
        return where(references.error());
    auto signatures = string_list(entry, "signatures");
    if (!signatures)
        return where(signatures.error());
    auto deriver = optional_string(entry, "deriver");
    if (!deriver)
        return where(deriver.error());
    auto ca = optional_string(entry, "ca");
    if (!ca)
        return where(ca.error());
    info.references = std::move(*references);
    info.signatures = std::move(*signatures);
    info.deriver = std::move(*deriver);
    info.ca = std::move(*ca);
    return info;
}

// "/nix/store/<base>/rest" -> "/nix/store/<base>", checked.
Result<std::string> store_path_of(std::string_view path, std::string_view argument) {
    std::string_view base = path.substr(nix_store_dir.size() + 1);
    base = base.substr(0, base.find('/'));
    auto parsed = parse_store_base_name(base);
    if (!parsed)
        return invalid("'" + std::string(argument) +
                       "' is not a store path: " + parsed.error().detail);
    return parsed->full();
}

bool under_store_dir(std::string_view path) {
    return path.starts_with(nix_store_dir) && path.size() > nix_store_dir.size() + 1 &&
           path[nix_store_dir.size()] == '/';
}

} // namespace

Result<std::string> resolve_store_path_argument(std::string_view argument) {
    std::filesystem::path path(argument);
    // Symlinks are followed by hand, one at a time: the store path they lead
    // to may exist only in a chroot store, not on this filesystem.
    for (int hops = 0; hops < 40; ++hops) {
        if (under_store_dir(path.lexically_normal().string()))
            return store_path_of(path.lexically_normal().string(), argument);
        std::error_code ec;
        if (!std::filesystem::is_symlink(path, ec))
            return invalid("'" + std::string(argument) +
                           "' is neither a store path nor a link to one");
        auto target = std::filesystem::read_symlink(path, ec);
        if (ec)
            return invalid("cannot read the link '" + path.string() + "': " + ec.message());
        path = target.is_absolute() ? target : path.parent_path() / target;
    }
    return invalid("'" + std::string(argument) + "': too many levels of symbolic links");
}

Result<std::vector<LocalPathInfo>> parse_path_info_json(std::string_view json) {
    Json document = Json::parse(json, nullptr, false);
    if (document.is_discarded() || !document.is_array())
        return invalid("nix path-info did not print a JSON array");
    std::vector<LocalPathInfo> infos;
    infos.reserve(document.size());
    for (const auto& entry : document) {
        auto info = read_entry(entry);
        if (!info)
            return invalid("nix path-info: " + info.error().detail);
        infos.push_back(std::move(*info));
    }
    return infos;
}

Result<std::vector<LocalPathInfo>> query_path_infos(const NixStoreOptions& options,
                                                    const std::vector<std::string>& paths,
                                                    bool closure) {
    auto argv = nix_command(options, {"path-info", "--json", "--option", "substitute", "false"});
    if (closure)
        argv.push_back("--recursive");
    argv.push_back("--");
    argv.insert(argv.end(), paths.begin(), paths.end());
    auto process = Subprocess::start(argv, "nix path-info");
    if (!process)
        return process.error();
    auto output = process->read_all();
    auto exited = process->wait();
    if (!exited)
        return exited.error();
    if (!output)
        return output.error();
    return parse_path_info_json(*output);
}

Result<NarDump> NarDump::start(const NixStoreOptions& options, const LocalPathInfo& info) {
    auto process = Subprocess::start(nix_command(options, {"store", "dump-path", info.path.full()}),
                                     "nix store dump-path");
    if (!process)
        return process.error();
    return NarDump(std::move(*process), info.path.full(), info.nar_size);
}

Result<std::unique_ptr<BodySource>> open_nar(const NixStoreOptions& options,
                                             const LocalPathInfo& info) {
    if (auto root = local_store_root(options.store)) {
        auto real = *root / info.path.full().substr(1);
        std::error_code ec;
        if (std::filesystem::symlink_status(real, ec).type() !=
            std::filesystem::file_type::not_found)
            return std::unique_ptr<BodySource>(std::make_unique<LocalNar>(real, info.nar_size));
    }
    auto dump = NarDump::start(options, info);
    if (!dump)
        return dump.error();
    return std::unique_ptr<BodySource>(std::make_unique<NarDump>(std::move(*dump)));
}

Result<std::size_t> NarDump::fill(std::span<std::byte> buffer) {
    if (finished_)
        return std::size_t{0};
    // Never more than the store recorded: a NAR that grew is caught here,
    // one that shrank at its end.
    std::uint64_t left = expected_ - produced_;
    auto n = process_.read(buffer.first(
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), left == 0 ? 1 : left))));
    if (!n)
        return n.error();
    if (*n > 0 && produced_ + *n > expected_)
        return invalid("the NAR of " + path_ + " is longer than the " + std::to_string(expected_) +
                       " bytes the store recorded");
    produced_ += *n;
    if (*n > 0)
        return n;
    finished_ = true;
    if (auto exited = process_.wait(); !exited)
        return exited.error();
    if (produced_ != expected_)
        return invalid("the NAR of " + path_ + " has " + std::to_string(produced_) +
                       " bytes, the store recorded " + std::to_string(expected_));
    return std::size_t{0};
}

} // namespace nixedge::lab::client
