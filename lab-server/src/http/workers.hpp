// The worker pool: threads for CPU-heavy work (zstd, SHA-256, chunking) so it
// never runs on an I/O thread. A handler coroutine hands a function over with
// `co_await workers.run(fn)`; the function runs on a pool thread and the
// coroutine resumes on its own executor (the session's strand) with the result.
// While the work runs the session reads nothing more from its socket, which is
// what slows a fast client down to the pace of the slowest stage.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace nixedge::lab::http {

// `requested`, or one per core when it is 0.
unsigned resolve_thread_count(unsigned requested);

class Workers {
  public:
    // threads == 0: one per core.
    explicit Workers(unsigned threads = 0);
    ~Workers();
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    unsigned size() const { return threads_; }

    // Runs fn() on a pool thread; resumes the awaiting coroutine on its own
    // executor. Exceptions thrown by fn are rethrown in the coroutine.
    template <class F> boost::asio::awaitable<std::invoke_result_t<F&>> run(F fn);

    // Waits for queued work to finish and the threads to exit.
    void join();

  private:
    unsigned threads_;
    boost::asio::thread_pool pool_;
};

template <class F> boost::asio::awaitable<std::invoke_result_t<F&>> Workers::run(F fn) {
    namespace net = boost::asio;
    using R = std::invoke_result_t<F&>;
    using Slot = std::conditional_t<std::is_void_v<R>, bool, std::optional<R>>;
    // The coroutine stays suspended until the handler runs, so the pool task
    // can write into these locals directly.
    Slot slot{};
    std::exception_ptr failure;
    auto initiate = [this, &fn, &slot, &failure](auto handler) {
        // Keeps the coroutine's io_context from running out of work meanwhile.
        auto home = net::prefer(net::get_associated_executor(handler),
                                net::execution::outstanding_work.tracked);
        net::post(pool_, [&fn, &slot, &failure, home = std::move(home),
                          handler = std::move(handler)]() mutable {
            try {
                if constexpr (std::is_void_v<R>) {
                    fn();
                    slot = true;
                } else {
                    slot.emplace(fn());
                }
            } catch (...) {
                failure = std::current_exception();
            }
            net::dispatch(home, std::move(handler));
        });
    };
    co_await net::async_initiate<const net::use_awaitable_t<>, void()>(initiate,
                                                                       net::use_awaitable);
    if (failure)
        std::rethrow_exception(failure);
    if constexpr (!std::is_void_v<R>)
        co_return std::move(*slot);
}

} // namespace nixedge::lab::http
