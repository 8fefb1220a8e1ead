// Observing a policy's calls without touching it: an observer sees each operation start and end
// (with its error, if any). The daemon counts API calls by action and outcome for /metrics; the
// simulator turns a killed node's calls into error_kind::cancelled. One decorator per policy
// concept (cloud::observed_route_api, lease::observed_store) forwards through observe().
#pragma once

#include <alivpc/runtime/task.hpp>

#include <concepts>
#include <exception>
#include <string_view>
#include <type_traits>

namespace alivpc {

template <class O>
concept call_observer = requires(O& o, std::string_view operation, std::exception_ptr error) {
  o.before(operation);        // may throw to refuse the call
  o.after(operation, error);  // error is null on success; may throw to replace the outcome
};

namespace detail {
// observe() for a task observed already (or empty): a coroutine around it, observed in its own
// frame.
template <call_observer O, class T>
task<T> observe_in_frame(O& o, std::string_view operation, task<T> t) {
  o.before(operation);
  std::exception_ptr failure;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(t);
    } else {
      T result = co_await std::move(t);
      o.after(operation, nullptr);
      co_return result;
    }
  } catch (...) {
    failure = std::current_exception();
  }
  o.after(operation, failure);
  if constexpr (std::is_void_v<T>) {
    if (failure) std::rethrow_exception(failure);
  } else {
    std::rethrow_exception(failure);  // a value was co_returned above unless something failed
  }
}
}  // namespace detail

// `t`, with `o` told of its run: o.before(operation) as it is awaited (a throw: it does not run),
// o.after(operation, error) as it ends (a throw replaces its outcome). The observer rides in the
// task's own promise: a coroutine around each observed call was one more frame to allocate and
// to resume at its end (every etcd and cloud call of every simulated node is observed).
// `operation` must outlive the task (the callers pass literals).
template <call_observer O, class T>
task<T> observe(O& o, std::string_view operation, task<T> t) {
  if (!t.valid() || t.observed()) return detail::observe_in_frame(o, operation, std::move(t));
  using observer = std::remove_reference_t<O>;
  const alivpc::detail::task_observation w{
      const_cast<void*>(static_cast<const void*>(&o)), operation,
      [](void* ob, std::string_view op) { static_cast<observer*>(ob)->before(op); },
      [](void* ob, std::string_view op, const std::exception_ptr& e) {
        static_cast<observer*>(ob)->after(op, e);
      }};
  return std::move(t).observe_with(w);
}

}  // namespace alivpc
