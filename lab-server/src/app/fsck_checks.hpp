// The parts of one fsck run (app/fsck.hpp), internal to app/fsck*.cpp:
// FsckRun records findings and runs repairs; each check takes the listed
// objects of its kind in key order and, at the end, what the listing lacked.
// Content (chunks, manifests) is in fsck_content.cpp, edge objects in
// fsck_edge.cpp, the driver and the outbox in fsck.cpp.
#pragma once

#include "app/fsck.hpp"
#include "nixedge/sync_plan.hpp"
#include "nixedge/zstd_frames.hpp"
#include "storage/object_lister.hpp"

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace nixedge::lab::fsck {

// What a repair did; `repaired` false when it decided to leave the
// difference (an orphan within its grace period, a chunk nobody has).
struct Mend {
    std::string action;
    bool repaired = false;
};
using Mender = std::function<Result<Mend>()>;

class FsckRun {
  public:
    FsckRun(Lab& lab, const FsckOptions& options) : lab_(lab), options_(options) {}

    MetadataStore& metadata() { return *lab_.metadata; }
    Storage& storage() { return *lab_.storage; }
    Lab& lab() { return lab_; }
    const FsckOptions& options() const { return options_; }
    FsckReport& report() { return report_; }

    // Records a finding; with repair, `mend` runs first and says what it
    // did. A failing repair ends the run: the storage or database is broken.
    Result<void> found(FsckFindingKind kind, std::string key, std::string problem,
                       const Mender& mend);
    // An object under chunks/ or manifests/ that no row knows.
    Result<void> orphan(const std::string& key, const ObjectInfo& info);

  private:
    Lab& lab_;
    const FsckOptions& options_;
    FsckReport report_;
};

// A mend for a difference fsck cannot repair, saying what will.
Mender cannot_repair(std::string what_will);

// Pages through database rows in hash order (MetadataStore::list_chunks,
// list_nars), one page in memory.
template <class Record> class RowCursor {
  public:
    using Fetch =
        std::function<Result<std::vector<Record>>(const std::optional<Sha256Digest>&, std::size_t)>;
    using HashOf = const Sha256Digest& (*)(const Record&);

    RowCursor(Fetch fetch, HashOf key) : fetch_(std::move(fetch)), hash_of_(key) {}

    // The next row not yet taken; null at the end. Valid until take().
    Result<const Record*> peek() {
        if (next_ == page_.size() && !last_page_)
            if (auto fetched = fetch_page(); !fetched)
                return fetched.error();
        return next_ < page_.size() ? &page_[next_] : nullptr;
    }
    void take() { ++next_; }
    const Sha256Digest& hash_of(const Record& record) const { return hash_of_(record); }

    // Takes every row left and hands each to check(row) -> Result<void>.
    template <class Check> Result<void> take_rest(Check&& check) {
        for (;;) {
            auto row = peek();
            if (!row)
                return row.error();
            if (!*row)
                return {};
            Record taken = **row;
            take();
            if (auto ok = check(taken); !ok)
                return ok;
        }
    }

  private:
    static constexpr std::size_t page_size = 1000;

    Result<void> fetch_page() {
        auto page = fetch_(after_, page_size);
        if (!page)
            return page.error();
        page_ = std::move(page).value();
        next_ = 0;
        last_page_ = page_.size() < page_size;
        if (!page_.empty())
            after_ = hash_of_(page_.back());
        return {};
    }

    Fetch fetch_;
    HashOf hash_of_;
    std::vector<Record> page_;
    std::size_t next_ = 0;
    bool last_page_ = false;
    std::optional<Sha256Digest> after_;
};

// Chunks: the rows recorded as stored against the objects under chunks/.
class ChunkCheck {
  public:
    explicit ChunkCheck(FsckRun& run);
    // Objects come in key order; rows before them are ones the bucket lacks.
    Result<void> object(const Sha256Digest& hash, const ObjectInfo& info);
    Result<void> finish();

  private:
    Result<void> row_only(const ChunkRecord& row);
    Result<void> row_and_object(const ChunkRecord& row, std::uint64_t size);
    Result<void> object_only(const Sha256Digest& hash, const ObjectInfo& info);
    Result<void> check_stored(const ChunkRecord& row, std::uint64_t size);
    Result<std::optional<std::string>> content_problem(const ChunkRecord& row);
    Result<void> lost(const ChunkRecord& row, FsckFindingKind kind, std::string problem,
                      bool object_exists);
    Result<void> awaiting_upload(const ChunkRecord& row);
    Result<void> report_broken_nars(const Sha256Digest& chunk, const std::vector<ChunkUse>& uses);

    FsckRun& run_;
    RowCursor<ChunkRecord> rows_;
    std::optional<ZstdDecompressor> decompressor_;
    std::set<Sha256Digest> broken_nars_; // reported once, whatever number of chunks they lack
};

// Manifests: every recorded NAR's object, byte for byte.
class ManifestCheck {
  public:
    explicit ManifestCheck(FsckRun& run);
    Result<void> object(const Sha256Digest& hash, const ObjectInfo& info);
    Result<void> finish();

  private:
    Result<void> check_nar(const NarRecord& nar);
    Result<void> object_only(const Sha256Digest& hash, const ObjectInfo& info);

    FsckRun& run_;
    RowCursor<NarRecord> rows_;
};

// Edge objects (layout marker, nix-cache-info, narinfos, listings, sync/plan)
// against what the database renders now.
class EdgeCheck {
  public:
    EdgeCheck(FsckRun& run, const SyncPlan& plan);
    Result<void> object(const std::string& key);
    Result<void> finish();

  private:
    Result<void> compare(const std::string& key);

    FsckRun& run_;
    std::unordered_map<std::string, bool> expected_; // key -> met in the listing
};

} // namespace nixedge::lab::fsck
