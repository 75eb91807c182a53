// Opening a SQLite database, and the outbox lock; everything else is
// SqlMetadataStore's (sql_metadata_store.hpp), instantiated here for SQLite.
#include "metadata/sqlite_metadata_store.hpp"

#include "metadata/sql_metadata_store_impl.hpp"
#include "metadata/sqlite_migrations.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nixedge::lab {

template class SqlMetadataStore<SqlitePool>;

namespace {

// WAL is a property of the file: set once, every later connection uses it.
Result<void> use_wal(SqliteConnection& c, const std::filesystem::path& path) {
    auto q = c.query("PRAGMA journal_mode = WAL");
    auto row = q.step();
    if (!row)
        return row.error();
    if (!*row || q.text(0) != "wal")
        return make_error(ErrorCode::database_unavailable,
                          "cannot switch " + path.string() + " to WAL (a network file system?)");
    return {};
}

} // namespace

SqliteMetadataStore::SqliteMetadataStore(const std::filesystem::path& path,
                                         SqliteMetadataOptions options)
    : SqlMetadataStore(options.clock, options.claims, path, options.max_connections,
                       options.busy_timeout),
      path_(path) {}

Result<std::unique_ptr<SqliteMetadataStore>>
SqliteMetadataStore::open(const std::filesystem::path& path, SqliteMetadataOptions options) {
    if (!options.clock)
        options.clock = system_clock_now;
    int target = options.schema_version == 0 ? latest_schema_version() : options.schema_version;
    std::unique_ptr<SqliteMetadataStore> store(new SqliteMetadataStore(path, std::move(options)));
    {
        auto lease = store->pool_.acquire();
        if (!lease)
            return lease.error();
        if (auto ok = use_wal(**lease, path); !ok)
            return ok.error();
        if (auto migrated = migrate(**lease, target, store->clock_()); !migrated)
            return migrated.error();
    }
    // A store held at an older schema (tests of migrations) has no writers table.
    if (target == latest_schema_version())
        if (auto registered = store->register_writer(); !registered)
            return registered.error();
    return store;
}

Result<int> SqliteMetadataStore::schema_version() {
    auto lease = pool_.acquire();
    if (!lease)
        return lease.error();
    return lab::schema_version(**lease);
}

// An flock on a file beside the database: SQLite's own locks cannot be held
// across the bucket writes of a drain without stopping every push.
// A lock file beside the database, locked with flock: it goes with the
// process, however it ends.
Result<bool> SqliteMetadataStore::with_file_lock(std::string_view name, bool wait,
                                                 const std::function<Result<void>()>& fn) {
    const auto lock_path = path_.string() + "." + std::string(name) + "-lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error(ErrorCode::database_unavailable,
                          "cannot open " + lock_path + ": " + std::strerror(errno));
    int rc;
    do
        rc = ::flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        const bool busy = errno == EWOULDBLOCK;
        auto error = make_error(ErrorCode::database_unavailable,
                                "cannot lock " + lock_path + ": " + std::strerror(errno));
        ::close(fd);
        if (busy && !wait)
            return false;
        return error;
    }
    auto result = fn();
    ::close(fd); // releases the lock
    if (!result)
        return result.error();
    return true;
}

Result<void> SqliteMetadataStore::with_outbox_lock(const std::function<Result<void>()>& fn) {
    auto ran = with_file_lock("outbox", true, fn);
    if (!ran)
        return ran.error();
    return {};
}

Result<bool> SqliteMetadataStore::try_with_gc_lock(const std::function<Result<void>()>& fn) {
    return with_file_lock("gc", false, fn);
}

} // namespace nixedge::lab
