#include "http/workers.hpp"

#include <thread>

namespace nixedge::lab::http {

namespace {
unsigned resolve_threads(unsigned threads) {
    if (threads != 0)
        return threads;
    unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 1 : cores;
}
} // namespace

Workers::Workers(unsigned threads) : threads_(resolve_threads(threads)), pool_(threads_) {}

Workers::~Workers() {
    join();
}

void Workers::join() {
    pool_.join();
}

} // namespace nixedge::lab::http
