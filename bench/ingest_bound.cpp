// `nixedge-bench ingest-bound`: the CPU bound of push ingest on this machine.
// It does, in memory, what the server does to every uploaded NAR byte
// (NarIngestor: NAR validation, listing, NarHash, FastCDC, chunk SHA-256;
// then one zstd frame per chunk not seen before, at the configured level),
// with no network, database or storage. Every thread ingests ALL the given
// NARs (each in its own order), so the threads are evenly loaded and the
// figure is threads x NAR bytes / wall time: what the cores can do at best.
#include "ingest_bound.hpp"

#include "bench_util.hpp"
#include "nixedge/nar_ingest.hpp"
#include "nixedge/zstd_frames.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace nixedge::bench {
namespace {

constexpr std::size_t slice_size = 1 << 20; // a request body arrives in slices

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "ingest-bound: %s\n", message.c_str());
    std::exit(1);
}

template <class T> T must(Result<T> result) {
    if (!result)
        die(result.error().detail);
    return std::move(result).value();
}

void must(Result<void> result) {
    if (!result)
        die(result.error().detail);
}

Bytes read_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary | std::ios::ate);
    if (!file)
        die("cannot open " + path);
    Bytes data(static_cast<std::size_t>(file.tellg()));
    file.seekg(0);
    if (!file.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size())))
        die("cannot read " + path);
    return data;
}

struct ThreadTotals {
    std::uint64_t chunks = 0;
    std::uint64_t compressed_chunks = 0;
    std::uint64_t stored_bytes = 0;
};

// One thread's ingest of every NAR, starting at NAR number `first`. A chunk
// already seen by this thread is not compressed again, as on the server.
ThreadTotals ingest_all(const std::vector<Bytes>& nars, std::size_t first, int level) {
    auto compressor = must(ZstdCompressor::create({.level = level}));
    std::set<Sha256Digest> seen;
    Bytes frame;
    ThreadTotals totals;
    auto on_chunk = [&](const Sha256Digest& hash, ByteView raw) -> Result<void> {
        ++totals.chunks;
        if (!seen.insert(hash).second)
            return {};
        frame.clear();
        if (auto ok = compressor.compress_frame(raw, frame); !ok)
            return ok;
        ++totals.compressed_chunks;
        totals.stored_bytes += frame.size();
        return {};
    };
    for (std::size_t n = 0; n < nars.size(); ++n) {
        const ByteView nar(nars[(first + n) % nars.size()]);
        auto ingestor = must(NarIngestor::create());
        for (std::size_t at = 0; at < nar.size(); at += slice_size)
            must(ingestor.feed(nar.subspan(at, std::min(slice_size, nar.size() - at)), on_chunk));
        auto result = must(ingestor.finish(on_chunk));
        keep(result.nar_hash);
    }
    return totals;
}

struct Options {
    unsigned threads = 2;
    int level = 3;
    int repeat = 3;
    std::vector<std::string> files;
};

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 0; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                die(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--threads")
            options.threads = static_cast<unsigned>(std::stoul(value()));
        else if (arg == "--level")
            options.level = std::stoi(value());
        else if (arg == "--repeat")
            options.repeat = std::stoi(value());
        else if (arg.starts_with("--"))
            die("unknown option " + arg);
        else
            options.files.push_back(arg);
    }
    if (options.files.empty() || options.threads == 0 || options.repeat < 1)
        die("usage: nixedge-bench ingest-bound [--threads N] [--level L] [--repeat R] NAR...");
    return options;
}

// User + system CPU time of the whole process so far, in seconds.
double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

} // namespace

int ingest_bound_main(int argc, char** argv) {
    const Options options = parse(argc, argv);
    std::vector<Bytes> nars;
    std::uint64_t nar_bytes = 0;
    for (const auto& path : options.files) {
        nars.push_back(read_file(path));
        nar_bytes += nars.back().size();
    }

    // Wall-clock rate (what two cores deliver now, on a possibly shared
    // machine) and rate per CPU second (unaffected by other load).
    std::vector<double> rates;
    std::vector<double> cpu_rates;
    ThreadTotals totals;
    for (int run = 0; run < options.repeat; ++run) {
        std::vector<ThreadTotals> per_thread(options.threads);
        std::vector<std::thread> threads;
        const auto start = std::chrono::steady_clock::now();
        const double cpu_start = cpu_seconds();
        for (unsigned t = 0; t < options.threads; ++t)
            threads.emplace_back([&, t] {
                per_thread[t] = ingest_all(nars, t * nars.size() / options.threads, options.level);
            });
        for (auto& thread : threads)
            thread.join();
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        const double input_mb = static_cast<double>(nar_bytes) * options.threads / 1e6;
        rates.push_back(input_mb / elapsed.count());
        cpu_rates.push_back(input_mb / (cpu_seconds() - cpu_start));
        totals = per_thread[0];
    }
    // One line of key=value pairs for bench/lab_bench.sh.
    std::printf("ingest_bound_mb_per_s=%.1f mb_per_cpu_s=%.1f threads=%u level=%d nars=%zu "
                "nar_bytes=%llu chunks=%llu compressed_chunks=%llu stored_bytes=%llu runs=",
                median(rates), median(cpu_rates), options.threads, options.level, nars.size(),
                static_cast<unsigned long long>(nar_bytes),
                static_cast<unsigned long long>(totals.chunks),
                static_cast<unsigned long long>(totals.compressed_chunks),
                static_cast<unsigned long long>(totals.stored_bytes));
    for (std::size_t i = 0; i < rates.size(); ++i)
        std::printf("%s%.1f", i ? "," : "", rates[i]);
    std::printf("\n");
    return 0;
}

} // namespace nixedge::bench
