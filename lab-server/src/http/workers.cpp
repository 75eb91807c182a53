#include "http/workers.hpp"

#include <thread>

namespace nixedge::lab::http {

unsigned resolve_thread_count(unsigned requested) {
    if (requested != 0)
        return requested;
    unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 1 : cores;
}

Workers::Workers(unsigned threads) : threads_(resolve_thread_count(threads)), pool_(threads_) {}

Workers::~Workers() {
    join();
}

void Workers::join() {
    pool_.join();
}

} // namespace nixedge::lab::http
