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

template <typename F>
boost::asio::awaitable<std::invoke_result_t<F>> Offload(boost::asio::thread_pool& pool, F call) {
  co_return co_await boost::asio::co_spawn(
      pool, [call = std::move(call)]() mutable -> boost::asio::awaitable<std::invoke_result_t<F>> { co_return call(); },
      boost::asio::use_awaitable);
}

}  // namespace herald
