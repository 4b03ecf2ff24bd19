// Offload(): runs a blocking call on a thread pool and resumes the awaiting
// coroutine on its own executor with the result (or the exception), so I/O
// threads never wait on SQLite, the file system or a PDF renderer.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

namespace herald {

// GCC 12 destroys a non-trivial temporary inside a co_await expression twice,
// so the call is wrapped in a named local before it is awaited; callers should
// likewise name a lambda that captures anything with a destructor.
template <typename F>
boost::asio::awaitable<std::invoke_result_t<F>> Offload(boost::asio::thread_pool& pool, F call) {
  auto on_pool = [call = std::move(call)]() mutable -> boost::asio::awaitable<std::invoke_result_t<F>> {
    co_return call();
  };
  auto running = boost::asio::co_spawn(pool, std::move(on_pool), boost::asio::use_awaitable);
  co_return co_await std::move(running);
}

}  // namespace herald
