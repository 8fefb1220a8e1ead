// The scheduler concept and the awaitables built on it.
//
// Every timed thing in alivpc (backoff, renewal, reconcile, request deadlines in the simulator)
// goes through a scheduler, so that the same coroutine runs on real time (asio_scheduler) and
// on virtual time (virtual_scheduler) without change.
#pragma once

#include <alivpc/runtime/prng.hpp>
#include <alivpc/runtime/task.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>

namespace alivpc {

using clock_duration = std::chrono::nanoseconds;
using time_point = std::chrono::steady_clock::time_point;  // monotonic; virtual in the simulator
using wall_time = std::chrono::system_clock::time_point;   // UTC, for signatures and expiries
using timer_id = std::uint64_t;

template <class S>
concept scheduler = requires(S& s, const S& cs, time_point t, std::function<void()> fn,
                             timer_id id) {
  { cs.now() } -> std::same_as<time_point>;      // monotonic now, for deadlines
  { cs.wall_now() } -> std::same_as<wall_time>;  // UTC now, for timestamps and expiries
  { s.call_at(t, std::move(fn)) } -> std::same_as<timer_id>;  // run fn at t, never inline
  { s.cancel(id) } -> std::same_as<bool>;  // true when fn had not run yet (it never will)
  { s.random() } -> std::same_as<prng&>;   // the seeded PRNG owned by this scheduler
};

// co_await sleep_until(s, t): resumes at t (at once, via the queue, when t is past).
template <scheduler S>
auto sleep_until(S& s, time_point t) {
  struct awaiter {
    S& s;
    time_point t;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      s.call_at(t, [h] { h.resume(); });
    }
    void await_resume() const noexcept {}
  };
  return awaiter{s, t};
}

template <scheduler S>
auto sleep_for(S& s, clock_duration d) {
  return sleep_until(s, s.now() + d);
}

// Lets other ready work run first.
template <scheduler S>
auto yield(S& s) {
  return sleep_until(s, s.now());
}

// Starts a task that runs on its own; an exception that escapes it is passed to on_error.
template <scheduler S, class OnError>
void spawn(S& s, task<void> t, OnError on_error) {
  auto holder = std::make_shared<task<void>>(std::move(t));
  s.call_at(s.now(), [holder, on_error = std::move(on_error)]() mutable {
    detail::run_detached(std::move(*holder), std::move(on_error));
  });
}

// Without a handler an escaped exception is a bug: say what it was and stop.
template <scheduler S>
void spawn(S& s, task<void> t) {
  spawn(s, std::move(t), [](std::exception_ptr e) {
    try {
      std::rethrow_exception(std::move(e));
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "alivpc: unhandled exception in a spawned task: %s\n", ex.what());
    } catch (...) {
      std::fprintf(stderr, "alivpc: unhandled non-standard exception in a spawned task\n");
    }
    std::terminate();
  });
}

// A notification that coroutines can wait for, with a deadline. notify() wakes every current
// waiter (through the scheduler, never inline). Used for "lease lost", "stop", "config changed".
template <scheduler S>
class async_event {
 public:
  explicit async_event(S& s) : s_(s) {}
  async_event(const async_event&) = delete;
  async_event& operator=(const async_event&) = delete;

  // Wakes all waiters, in the order they began to wait; a later wait() waits for the next
  // notify().
  void notify() {
    waiter* w = first_;
    first_ = last_ = nullptr;
    while (w) {
      waiter* next = w->next;
      w->previous = w->next = nullptr;
      wake(*w, true);
      w = next;
    }
  }
  // Sets the event for good: every wait, now or later, returns true at once.
  void set() {
    set_ = true;
    notify();
  }
  bool is_set() const noexcept { return set_; }
  // Clears set(): later waits wait again (for reusing one event across rounds).
  void reset() noexcept { set_ = false; }

 private:
  // A waiter is its awaiter, in the waiting coroutine's frame, which stays put while it waits:
  // nothing is allocated per wait (a shared state and a timer callable too large to store
  // inline were two allocations for each of the millions of waits of a simulated week). The
  // waiters are a list through their frames, not an array of pointers: the array's own block
  // was one more cold read, and a new block after each notify(), for every watch round of every
  // node, and a waiter that timed out searched it. A frame destroyed while waiting takes its
  // timer and its place in the list with it.
  struct waiter {
    async_event& ev;
    time_point deadline;
    std::coroutine_handle<> handle{};
    timer_id timer = 0;
    waiter* previous = nullptr;  // in ev's list, while waiting
    waiter* next = nullptr;
    bool waiting = false;  // listed, its timer set
    bool notified = true;  // a wait that never suspends (set()) is a notified one
    waiter(async_event& e, time_point d) : ev(e), deadline(d) {}
    waiter(const waiter&) = delete;
    waiter& operator=(const waiter&) = delete;
    ~waiter() {
      if (!waiting) return;
      ev.s_.cancel(timer);
      ev.unlink(*this);
    }
    bool await_ready() const noexcept { return ev.set_; }
    void await_suspend(std::coroutine_handle<> h) {
      handle = h;
      timer = ev.s_.call_at(deadline, [this] { ev.on_timeout(*this); });
      previous = ev.last_;
      (previous ? previous->next : ev.first_) = this;
      ev.last_ = this;
      waiting = true;
    }
    bool await_resume() const noexcept { return notified; }
  };

 public:
  // co_await ev.wait_until(t) -> true when notified, false on timeout.
  waiter wait_until(time_point deadline) { return waiter(*this, deadline); }
  waiter wait() { return wait_until(time_point::max()); }

 private:
  void wake(waiter& w, bool notified) {
    w.waiting = false;
    w.notified = notified;
    s_.cancel(w.timer);
    // The handle alone: a callable that small and trivially copyable is stored in std::function
    // without an allocation.
    s_.call_at(s_.now(), [h = w.handle] { h.resume(); });
  }
  void unlink(waiter& w) {
    (w.previous ? w.previous->next : first_) = w.next;
    (w.next ? w.next->previous : last_) = w.previous;
    w.previous = w.next = nullptr;
  }
  void on_timeout(waiter& w) {
    unlink(w);
    w.waiting = false;
    w.notified = false;
    w.handle.resume();
  }

  S& s_;
  waiter* first_ = nullptr;  // the waiters, in the order they began to wait
  waiter* last_ = nullptr;
  bool set_ = false;
};

}  // namespace alivpc
