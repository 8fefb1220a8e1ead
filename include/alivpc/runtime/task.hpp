// task<T>: a lazy coroutine. It starts when awaited (or when spawned onto a scheduler) and
// resumes its awaiter by symmetric transfer, so long chains of co_await never grow the stack.
// Exceptions thrown inside travel to the awaiter.
//
// GCC 12 and coroutines, said once for the whole project: GCC 12 mishandles temporaries inside
// a co_await expression (a lambda or string temporary may be destroyed twice, or too early).
// So, inside a coroutine, operations, callbacks and their names are named locals before they
// are awaited; and a coroutine takes by value what its frame must own beyond its first
// suspension (a reference parameter may dangle once the caller's temporary is gone).
#pragma once

#include <alivpc/runtime/asio_prelude.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>

namespace alivpc {

template <class T = void>
class task;

namespace detail {

// Someone told of one task's run (observe(), runtime/observed.hpp): before it starts, when it
// is awaited, and after it ends, before its awaiter sees the outcome. Either call may throw,
// which replaces the outcome (a throw before means the task never runs).
struct task_observation {
  void* observer = nullptr;
  std::string_view operation;
  void (*before)(void* observer, std::string_view operation) = nullptr;
  void (*after)(void* observer, std::string_view operation,
                const std::exception_ptr& error) = nullptr;
};

struct task_promise_base {
  std::coroutine_handle<> continuation = std::noop_coroutine();
  std::exception_ptr exception;
  task_observation observation;

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      return h.promise().continuation;
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

template <class T>
struct task_promise : task_promise_base {
  std::optional<T> value;
  task<T> get_return_object() noexcept;
  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) { value.emplace(std::forward<U>(v)); }
  T take() {
    if (exception) std::rethrow_exception(exception);
    return std::move(*value);
  }
};

template <>
struct task_promise<void> : task_promise_base {
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() = default;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  bool valid() const noexcept { return static_cast<bool>(handle_); }

  // Whether an observer is attached already (observe() attaches one at most once).
  bool observed() const noexcept { return handle_ && handle_.promise().observation.before; }
  // Attaches an observer (observe() does; valid() and not observed()).
  task&& observe_with(const detail::task_observation& o) && noexcept {
    handle_.promise().observation = o;
    return std::move(*this);
  }

  auto operator co_await() && noexcept {
    struct awaiter {
      std::coroutine_handle<promise_type> handle;
      bool await_ready() noexcept { return !handle || handle.done(); }
      // An observer's throw here resumes the awaiter with it, the task not started.
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) {
        auto& p = handle.promise();
        if (p.observation.before)
          p.observation.before(p.observation.observer, p.observation.operation);
        p.continuation = awaiting;
        return handle;
      }
      T await_resume() {
        auto& p = handle.promise();
        if (p.observation.after)
          p.observation.after(p.observation.observer, p.observation.operation, p.exception);
        return p.take();
      }
    };
    return awaiter{handle_};
  }

 private:
  void reset() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

// A fire-and-forget coroutine: starts at once and frees itself when it ends.
struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // run_detached catches all
  };
};

template <class OnError>
detached run_detached(task<void> t, OnError on_error) {
  try {
    // NOLINTNEXTLINE(bugprone-use-after-move): clang-tidy 14 counts co_await's expansion as uses.
    co_await std::move(t);
  } catch (...) {
    on_error(std::current_exception());
  }
}
}  // namespace detail

}  // namespace alivpc
