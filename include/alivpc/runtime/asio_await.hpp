// Awaiting Asio/Beast asynchronous operations from a task<T>.
//
//   auto [ec, n] = co_await asio_op<void(boost::system::error_code, std::size_t)>(
//       [&](auto handler) { boost::beast::http::async_read(stream, buf, res, std::move(handler));
//       });
//
// The handler resumes the coroutine on the io_context thread that completed the operation.
#pragma once

#include <alivpc/runtime/asio_prelude.hpp>

#include <coroutine>
#include <optional>
#include <tuple>

namespace alivpc {

template <class Signature, class Initiation>
struct asio_op_awaiter;

template <class... Args, class Initiation>
struct asio_op_awaiter<void(Args...), Initiation> {
  Initiation initiation;
  std::optional<std::tuple<std::decay_t<Args>...>> result;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    initiation([this, h](Args... args) {
      result.emplace(std::move(args)...);
      h.resume();
    });
  }
  std::tuple<std::decay_t<Args>...> await_resume() { return std::move(*result); }
};

template <class Signature, class Initiation>
auto asio_op(Initiation init) {
  return asio_op_awaiter<Signature, Initiation>{std::move(init), std::nullopt};
}

}  // namespace alivpc
