// The outbox's own calls. Entries are mostly enqueued by other transactions
// (publish, cache changes) through sqlite_rows::enqueue.
#include "metadata/sqlite_metadata_store.hpp"

#include "metadata/sqlite_rows.hpp"
#include "storage/storage.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nixedge::lab {

using namespace sqlite_rows;

namespace {

OutboxOp outbox_op(const std::string& text) {
    if (text == "delete")
        return OutboxOp::remove;
    return text == "regenerate" ? OutboxOp::regenerate : OutboxOp::put;
}

} // namespace

Result<std::int64_t> SqliteMetadataStore::enqueue(OutboxOp op, std::string_view key,
                                                  std::string_view payload) {
    if (auto ok = validate_object_key(key); !ok)
        return ok.error();
    if (op != OutboxOp::put && !payload.empty())
        return make_error(ErrorCode::invalid_argument, "only a put carries a payload");
    const auto now = options_.clock();
    return pool_.write([&](SqliteConnection& c) -> Result<std::int64_t> {
        std::optional<std::string_view> body;
        if (op == OutboxOp::put)
            body = payload;
        if (auto ok = sqlite_rows::enqueue(c, op, key, body, now); !ok)
            return ok.error();
        return c.last_insert_id();
    });
}

Result<std::vector<OutboxEntry>> SqliteMetadataStore::pending_outbox(std::size_t limit) {
    return pool_.read([&](SqliteConnection& c) -> Result<std::vector<OutboxEntry>> {
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

Result<void> SqliteMetadataStore::complete_outbox(std::int64_t id) {
    return pool_.write(
        [&](SqliteConnection& c) { return c.run("DELETE FROM outbox WHERE id = ?", id); });
}

// An flock on a file beside the database: SQLite's own locks cannot be held
// across the bucket writes of a drain without stopping every push.
Result<void> SqliteMetadataStore::with_outbox_lock(const std::function<Result<void>()>& fn) {
    const auto lock_path = path_.string() + ".outbox-lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error(ErrorCode::database_unavailable,
                          "cannot open " + lock_path + ": " + std::strerror(errno));
    int rc;
    do
        rc = ::flock(fd, LOCK_EX);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        auto error = make_error(ErrorCode::database_unavailable,
                                "cannot lock " + lock_path + ": " + std::strerror(errno));
        ::close(fd);
        return error;
    }
    auto result = fn();
    ::close(fd); // releases the lock
    return result;
}

Result<void> SqliteMetadataStore::fail_outbox(std::int64_t id, std::string_view error) {
    const auto now = options_.clock();
    return pool_.write([&](SqliteConnection& c) {
        return c.run("UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                     "last_attempt_at = ? WHERE id = ?",
                     error, now, id);
    });
}

} // namespace nixedge::lab
