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

template <call_observer O, class T>
task<T> observe(O& o, std::string_view operation, task<T> t) {
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

}  // namespace alivpc
