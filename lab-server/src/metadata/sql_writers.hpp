// The processes that write the database (`writers`), so that a claim knows
// whether its owner still lives (ClaimRules). Template definitions of
// SqlMetadataStore (sql_metadata_store.hpp), included only by
// sql_metadata_store_impl.hpp.
#pragma once

#include "metadata/sql_metadata_store.hpp"

#include <unistd.h>

#include <climits>
#include <random>

namespace nixedge::lab {

namespace {

// Readable in the database (which host, which process), unique by its random part.
std::string make_writer_id() {
    char host[HOST_NAME_MAX + 1] = {};
    if (::gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    std::random_device random;
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%08x%08x", random(), random());
    return std::string(host) + "/" + std::to_string(::getpid()) + "/" + suffix;
}

} // namespace

template <class Pool> Result<void> SqlMetadataStore<Pool>::register_writer() {
    writer_id_ = make_writer_id();
    const auto now = clock_();
    const auto forgotten_before = now - static_cast<std::int64_t>(claims_.timeout.count());
    auto registered = pool_.write_unsynced([&](auto& c) -> Result<void> {
        if (auto ok = c.run("DELETE FROM writers WHERE heartbeat_at < ?", forgotten_before); !ok)
            return ok;
        return c.run("INSERT INTO writers (id, started_at, heartbeat_at) VALUES (?, ?, ?)",
                     writer_id_, now, now);
    });
    if (!registered)
        return registered;
    heartbeat_.start(claims_.heartbeat, [this] { renew_writer(); });
    return {};
}

// Inserts the row again if it was forgotten (the database was unreachable for
// longer than the claim timeout): this process's claims may have been taken
// over meanwhile, which its marks then find out (conflict).
template <class Pool> void SqlMetadataStore<Pool>::renew_writer() {
    const auto now = clock_();
    (void)pool_.write_unsynced([&](auto& c) -> Result<void> {
        return c.run("INSERT INTO writers (id, started_at, heartbeat_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                     writer_id_, now, now);
    });
}

template <class Pool> SqlMetadataStore<Pool>::~SqlMetadataStore() {
    heartbeat_.stop();
    if (writer_id_.empty())
        return;
    (void)pool_.write_unsynced([&](auto& c) -> Result<void> {
        return c.run("DELETE FROM writers WHERE id = ?", writer_id_);
    });
}

} // namespace nixedge::lab
