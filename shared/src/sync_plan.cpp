#include "nixedge/sync_plan.hpp"

#include "nixedge/bucket_layout.hpp"

namespace nixedge {

namespace {

constexpr std::string_view header = "nixedge-sync-plan 1";
constexpr std::string_view immutable_prefix = "immutable ";
constexpr std::string_view mutable_prefix = "mutable ";

bool is_immutable_kind(ObjectKind kind) {
    return kind == ObjectKind::chunk || kind == ObjectKind::manifest;
}

} // namespace

std::string encode_sync_plan(const SyncPlan& plan) {
    std::string out(header);
    out += '\n';
    for (const auto& key : plan.immutable_keys)
        out.append(immutable_prefix).append(key).append("\n");
    for (const auto& key : plan.mutable_keys)
        out.append(mutable_prefix).append(key).append("\n");
    return out;
}

Result<SyncPlan> decode_sync_plan(std::string_view text) {
    SyncPlan plan;
    std::size_t line_number = 0;
    auto bad = [&](std::string_view why) {
        return make_error(ErrorCode::invalid_argument, "sync plan line " +
                                                           std::to_string(line_number) + ": " +
                                                           std::string(why));
    };
    bool seen_mutable = false;
    while (!text.empty()) {
        ++line_number;
        auto end = text.find('\n');
        if (end == std::string_view::npos)
            return bad("missing final newline");
        auto line = text.substr(0, end);
        text.remove_prefix(end + 1);
        if (line_number == 1) {
            if (line != header)
                return bad("expected '" + std::string(header) + "'");
            continue;
        }
        bool immutable = line.starts_with(immutable_prefix);
        if (!immutable && !line.starts_with(mutable_prefix))
            return bad("expected 'immutable <key>' or 'mutable <key>'");
        auto key = line.substr(immutable ? immutable_prefix.size() : mutable_prefix.size());
        auto info = parse_object_key(key);
        if (!info)
            return bad(info.error().detail);
        if (immutable != is_immutable_kind(info->kind))
            return bad("'" + std::string(key) + "' is in the wrong list");
        if (immutable && seen_mutable)
            return bad("immutable keys must come before mutable ones");
        seen_mutable = seen_mutable || !immutable;
        (immutable ? plan.immutable_keys : plan.mutable_keys).emplace_back(key);
    }
    if (line_number == 0)
        return make_error(ErrorCode::invalid_argument, "sync plan is empty");
    return plan;
}

} // namespace nixedge
