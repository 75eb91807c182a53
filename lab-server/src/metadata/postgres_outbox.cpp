// The outbox's own calls. Entries are mostly enqueued by other transactions
// (publish, cache changes) through postgres_rows::enqueue.
#include "metadata/postgres_metadata_store.hpp"

#include "metadata/postgres_rows.hpp"
#include "storage/storage.hpp"

namespace nixedge::lab {

using namespace postgres_rows;

namespace {

OutboxOp outbox_op(const std::string& text) {
    if (text == "delete")
        return OutboxOp::remove;
    return text == "regenerate" ? OutboxOp::regenerate : OutboxOp::put;
}

} // namespace

Result<std::int64_t> PostgresMetadataStore::enqueue(OutboxOp op, std::string_view key,
                                                    std::string_view payload) {
    if (auto ok = validate_object_key(key); !ok)
        return ok.error();
    if (op != OutboxOp::put && !payload.empty())
        return make_error(ErrorCode::invalid_argument, "only a put carries a payload");
    const auto now = options_.clock();
    return pool_.write([&](PostgresConnection& c) -> Result<std::int64_t> {
        std::optional<std::string_view> body;
        if (op == OutboxOp::put)
            body = payload;
        return postgres_rows::enqueue(c, op, key, body, now);
    });
}

Result<std::vector<OutboxEntry>> PostgresMetadataStore::pending_outbox(std::size_t limit) {
    return pool_.read([&](PostgresConnection& c) -> Result<std::vector<OutboxEntry>> {
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

Result<void> PostgresMetadataStore::complete_outbox(std::int64_t id) {
    return pool_.write(
        [&](PostgresConnection& c) { return c.run("DELETE FROM outbox WHERE id = ?", id); });
}

// A session advisory lock, held on a connection of the pool for the whole
// drain (fn uses others: the pool keeps at least two). If that connection
// breaks, the server releases the lock with it.
Result<void> PostgresMetadataStore::with_outbox_lock(const std::function<Result<void>()>& fn) {
    constexpr const char* key = "hashtextextended('nixedge outbox ' || current_schema(), 0)";
    auto lease = pool_.acquire();
    if (!lease)
        return lease.error();
    if (auto locked = (*lease)->exec((std::string("SELECT pg_advisory_lock(") + key + ")").c_str());
        !locked)
        return make_error(ErrorCode::database_unavailable,
                          "cannot take the outbox lock: " + locked.error().detail);
    auto result = fn();
    if (!(*lease)->broken())
        (void)(*lease)->exec((std::string("SELECT pg_advisory_unlock(") + key + ")").c_str());
    return result;
}

Result<void> PostgresMetadataStore::fail_outbox(std::int64_t id, std::string_view error) {
    const auto now = options_.clock();
    return pool_.write([&](PostgresConnection& c) {
        return c.run("UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                     "last_attempt_at = ? WHERE id = ?",
                     error, now, id);
    });
}

} // namespace nixedge::lab
