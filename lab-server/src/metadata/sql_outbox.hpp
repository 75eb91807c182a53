// The outbox's own calls. Entries are mostly enqueued by other transactions
// (publish, cache changes) through sql_rows::enqueue. Template definitions of
// SqlMetadataStore (sql_metadata_store.hpp), included only by
// sql_metadata_store_impl.hpp.
#pragma once

#include "metadata/sql_metadata_store.hpp"
#include "metadata/sql_rows.hpp"
#include "storage/storage.hpp"

namespace nixedge::lab {

using namespace sql_rows;

namespace {

OutboxOp outbox_op(const std::string& text) {
    if (text == "delete")
        return OutboxOp::remove;
    return text == "regenerate" ? OutboxOp::regenerate : OutboxOp::put;
}

} // namespace

template <class Pool>
Result<std::int64_t> SqlMetadataStore<Pool>::enqueue(OutboxOp op, std::string_view key,
                                                     std::string_view payload) {
    if (auto ok = validate_object_key(key); !ok)
        return ok.error();
    if (op != OutboxOp::put && !payload.empty())
        return make_error(ErrorCode::invalid_argument, "only a put carries a payload");
    const auto now = clock_();
    return pool_.write([&](auto& c) -> Result<std::int64_t> {
        std::optional<std::string_view> body;
        if (op == OutboxOp::put)
            body = payload;
        return sql_rows::enqueue(c, op, key, body, now);
    });
}

template <class Pool>
Result<std::vector<OutboxEntry>> SqlMetadataStore<Pool>::pending_outbox(std::size_t limit) {
    return pool_.read([&](auto& c) -> Result<std::vector<OutboxEntry>> {
        std::vector<OutboxEntry> entries;
        auto q = c.query("SELECT id, op, object_key, payload, created_at, attempts, last_error "
                         "FROM outbox ORDER BY id LIMIT ?",
                         limit);
        while (true) {
            auto next = q.step();
            if (!next)
                return next.error();
            if (!*next)
                return entries;
            entries.push_back(OutboxEntry{q.int64(0), outbox_op(q.text(1)), q.text(2), q.text(3),
                                          q.int64(4), q.int64(5), q.text(6)});
        }
    });
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::complete_outbox(std::span<const std::int64_t> ids) {
    if (ids.empty())
        return {};
    return pool_.write([&](auto& c) -> Result<void> {
        for (auto id : ids)
            if (auto ok = c.run("DELETE FROM outbox WHERE id = ?", id); !ok)
                return ok;
        return {};
    });
}

template <class Pool>
Result<void> SqlMetadataStore<Pool>::fail_outbox(std::int64_t id, std::string_view error) {
    const auto now = clock_();
    return pool_.write([&](auto& c) {
        return c.run("UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                     "last_attempt_at = ? WHERE id = ?",
                     error, now, id);
    });
}

} // namespace nixedge::lab
