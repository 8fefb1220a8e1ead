#include <alivpc/error.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using alivpc::task;
using alivpc::virtual_scheduler;

namespace {
task<int> add_later(virtual_scheduler& s, int a, int b) {
  co_await alivpc::sleep_for(s, 5s);
  co_return a + b;
}
task<void> chain(virtual_scheduler& s, std::vector<int>& out) {
  out.push_back(co_await add_later(s, 1, 2));
  out.push_back(co_await add_later(s, 3, 4));
}
task<void> thrower(virtual_scheduler& s) {
  co_await alivpc::sleep_for(s, 1s);
  throw alivpc::error(alivpc::error_kind::transient, "boom");
}
// Waits on ev until the timeout and logs "<name>:notified" or "<name>:timeout", with "@<seconds>"
// of virtual time when `stamped`.
task<void> wait_and_log(virtual_scheduler& s, alivpc::async_event<virtual_scheduler>& ev,
                        std::vector<std::string>& log, std::chrono::seconds timeout,
                        std::string name, bool stamped) {
  const bool notified = co_await ev.wait_until(s.now() + timeout);
  name += notified ? ":notified" : ":timeout";
  if (stamped)
    name +=
        "@" +
        std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(s.now().time_since_epoch()).count());
  log.push_back(std::move(name));
}
}  // namespace

TEST(VirtualScheduler, RunsCoroutinesInVirtualTime) {
  virtual_scheduler s(1);
  std::vector<int> out;
  alivpc::spawn(s, chain(s, out));
  s.run();
  EXPECT_EQ(out, (std::vector<int>{3, 7}));
  EXPECT_EQ(s.now().time_since_epoch(), 10s);
}

TEST(VirtualScheduler, OrdersByTimeThenSequence) {
  virtual_scheduler s;
  std::string order;
  auto t0 = s.now();
  s.call_at(t0 + 2s, [&] { order += 'c'; });
  s.call_at(t0 + 1s, [&] { order += 'a'; });
  s.call_at(t0 + 1s, [&] { order += 'b'; });
  auto id = s.call_at(t0 + 1s, [&] { order += 'x'; });
  EXPECT_TRUE(s.cancel(id));
  EXPECT_FALSE(s.cancel(id));
  s.run_until(t0 + 1s);
  EXPECT_EQ(order, "ab");
  s.run();
  EXPECT_EQ(order, "abc");
}

// Many timers at random times, many at the same time, some cancelled, some scheduled by others
// as they run: each runs once, in (time, scheduling order), as the queue (a 4-ary heap) must give.
TEST(VirtualScheduler, ManyTimersRunInTimeThenSchedulingOrder) {
  virtual_scheduler s(11);
  struct ran {
    std::chrono::nanoseconds at;
    int order;
    bool operator==(const ran&) const = default;
  };
  std::vector<ran> runs;
  std::vector<std::pair<std::chrono::nanoseconds, int>> expected;  // (time, order)
  int next_order = 0;
  std::function<void(int)> schedule = [&](int depth) {
    const auto at = s.now() + std::chrono::milliseconds(s.random().between(0, 50));
    const int order = next_order++;
    const auto id = s.call_at(at, [&, order, depth] {
      runs.push_back({s.now().time_since_epoch(), order});
      if (depth < 2) schedule(depth + 1);
    });
    if (s.random().between(0, 9) == 0) {
      EXPECT_TRUE(s.cancel(id));
      return;
    }
    expected.emplace_back(at.time_since_epoch(), order);
  };
  for (int i = 0; i < 5000; ++i)
    schedule(0);
  s.run();
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(runs.size(), expected.size());
  for (std::size_t i = 0; i < runs.size(); ++i)
    ASSERT_EQ(runs[i], (ran{expected[i].first, expected[i].second})) << "run " << i;
  EXPECT_EQ(s.pending(), 0u);
}

// A cancelled timer's slot is reused: the old id and the old queue entry must not reach the
// new timer (neither cancel it nor run it at the old time), and a timer cannot cancel itself.
TEST(VirtualScheduler, ACancelledTimersSlotServesTheNextTimerOnly) {
  virtual_scheduler s;
  std::string order;
  auto t0 = s.now();
  auto early = s.call_at(t0 + 1s, [&] { order += 'x'; });
  EXPECT_TRUE(s.cancel(early));
  auto later = s.call_at(t0 + 5s, [&] { order += 'b'; });
  EXPECT_NE(later, early);
  EXPECT_NE(later, alivpc::timer_id{0});
  EXPECT_FALSE(s.cancel(early));  // not the timer now in its slot
  EXPECT_EQ(s.pending(), 1u);
  s.run_until(t0 + 1s);  // the cancelled entry comes up here: nothing runs
  EXPECT_EQ(order, "");
  alivpc::timer_id self = 0;
  self = s.call_at(t0 + 2s, [&] {
    order += 'a';
    EXPECT_FALSE(s.cancel(self));  // running: no longer pending
  });
  s.run();
  EXPECT_EQ(order, "ab");
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(s.now(), t0 + 5s);
}

TEST(VirtualScheduler, ExceptionsReachTheErrorHandler) {
  virtual_scheduler s;
  std::string what;
  alivpc::spawn(s, thrower(s), [&](std::exception_ptr e) {
    try {
      std::rethrow_exception(std::move(e));
    } catch (const alivpc::error& err) {
      what = err.what();
    }
  });
  s.run();
  EXPECT_EQ(what, "boom");
}

TEST(VirtualScheduler, RunsThousandsOfCoroutinesInOneThread) {
  virtual_scheduler s(7);
  int done = 0;
  auto worker = [](virtual_scheduler& s, int& done) -> task<void> {
    for (int i = 0; i < 10; ++i)
      co_await alivpc::sleep_for(s, std::chrono::milliseconds(s.random().between(1, 1000)));
    ++done;
  };
  for (int i = 0; i < 5000; ++i)
    alivpc::spawn(s, worker(s, done));
  s.run();
  EXPECT_EQ(done, 5000);
}

// A waiter lives in its coroutine's frame: a frame destroyed while it waits (a cancelled task)
// takes the waiter's timer and its place in the event's list with it, so nothing touches it later.
TEST(AsyncEvent, AWaiterDestroyedWhileWaitingLeavesNothingBehind) {
  virtual_scheduler s;
  alivpc::async_event<virtual_scheduler> ev(s);
  {
    auto w = ev.wait_until(s.now() + 10s);
    ASSERT_FALSE(w.await_ready());
    w.await_suspend(std::noop_coroutine());
    EXPECT_EQ(s.pending(), 1u);  // its deadline
  }
  EXPECT_EQ(s.pending(), 0u);
  ev.notify();  // would schedule the resumption of a waiter that is gone
  EXPECT_EQ(s.pending(), 0u);
  s.run();
}

// notify() wakes the waiters in the order they began to wait, whichever left the list between
// (by its deadline, or by its frame's end): the order of a simulated run's events depends on it.
TEST(AsyncEvent, NotifyWakesTheRemainingWaitersInTheOrderTheyBeganToWait) {
  virtual_scheduler s;
  alivpc::async_event<virtual_scheduler> ev(s);
  std::vector<std::string> log;
  auto waiter = [&](std::chrono::seconds timeout, std::string name) {
    return wait_and_log(s, ev, log, timeout, std::move(name), false);
  };
  alivpc::spawn(s, waiter(1s, "first"));  // leaves the list at its head
  alivpc::spawn(s, waiter(9s, "a"));
  alivpc::spawn(s, waiter(2s, "middle"));  // leaves it between two
  alivpc::spawn(s, waiter(9s, "b"));
  alivpc::spawn(s, waiter(3s, "last"));  // leaves it between b and c (below)
  s.run_until(s.now() + 1s);
  {  // one more, whose frame ends while it waits: it leaves the list at its tail
    auto gone = ev.wait_until(s.now() + 9s);
    gone.await_suspend(std::noop_coroutine());
  }
  alivpc::spawn(s, waiter(9s, "c"));
  s.run_until(s.now() + 3s);
  ev.notify();
  s.run();
  EXPECT_EQ(log, (std::vector<std::string>{"first:timeout", "middle:timeout", "last:timeout",
                                           "a:notified", "b:notified", "c:notified"}));
  ev.notify();  // the list is empty again: nothing to wake
  EXPECT_EQ(s.pending(), 0u);
}

TEST(AsyncEvent, WakesWaitersOrTimesOut) {
  virtual_scheduler s;
  alivpc::async_event<virtual_scheduler> ev(s);
  std::vector<std::string> log;
  auto waiter = [&](std::chrono::seconds timeout, std::string name) {
    return wait_and_log(s, ev, log, timeout, std::move(name), true);
  };
  alivpc::spawn(s, waiter(10s, "a"));
  alivpc::spawn(s, waiter(2s, "b"));
  s.call_at(s.now() + 5s, [&] { ev.notify(); });
  s.run();
  EXPECT_EQ(log, (std::vector<std::string>{"b:timeout@2", "a:notified@5"}));
  ev.set();
  alivpc::spawn(s, waiter(10s, "c"));
  s.run();
  EXPECT_EQ(log.back(), "c:notified@5");
}
