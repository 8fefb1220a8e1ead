// Runs an alivpc::task to completion on an io_context (or a virtual scheduler) from a test.
#pragma once

#include <utility>

#include <alivpc/runtime/task.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>

#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <stdexcept>

namespace alivpc_test {

namespace detail {
template <class T>
struct outcome {
  std::optional<T> value;
  std::exception_ptr error;
  bool done = false;
};
template <>
struct outcome<void> {
  std::exception_ptr error;
  bool done = false;
};

template <class T>
alivpc::task<void> capture(alivpc::task<T> t, outcome<T>& out) {
  try {
    if constexpr (std::is_void_v<T>)
      co_await std::move(t);
    else
      out.value.emplace(co_await std::move(t));
  } catch (...) {
    out.error = std::current_exception();
  }
  out.done = true;
}

template <class T>
T finish(outcome<T>& out) {
  if (!out.done) throw std::runtime_error("run_task: the task never finished (ran out of work)");
  if (out.error) std::rethrow_exception(out.error);
  if constexpr (!std::is_void_v<T>) return std::move(*out.value);
}
}  // namespace detail

// Runs until t finishes; other work on io keeps running meanwhile.
template <class T>
T run_task(boost::asio::io_context& io, alivpc::task<T> t) {
  detail::outcome<T> out;
  alivpc::detail::run_detached(detail::capture(std::move(t), out), [](std::exception_ptr) {});
  io.restart();
  while (!out.done && io.run_one()) {
  }
  return detail::finish(out);
}

template <class T>
T run_task(alivpc::virtual_scheduler& s, alivpc::task<T> t) {
  detail::outcome<T> out;
  alivpc::detail::run_detached(detail::capture(std::move(t), out), [](std::exception_ptr) {});
  while (!out.done && s.step()) {
  }
  return detail::finish(out);
}

}  // namespace alivpc_test
