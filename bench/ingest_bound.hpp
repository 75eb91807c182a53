// The push-ingest CPU bound (`nixedge-bench ingest-bound NAR...`), used by
// bench/lab_bench.sh next to the lab server's measured ingest.
#pragma once

namespace nixedge::bench {

// argv holds the arguments after "ingest-bound". Prints one key=value line.
int ingest_bound_main(int argc, char** argv);

} // namespace nixedge::bench
