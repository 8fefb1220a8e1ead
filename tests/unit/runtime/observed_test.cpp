// observe(): the observer is told as the call is awaited (not as it is made) and as it ends,
// before the awaiter sees the outcome, and either call may replace that outcome; the same when
// a task observed already is observed again (the two observers nest).
#include <alivpc/error.hpp>
#include <alivpc/runtime/observed.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
using alivpc::task;
using alivpc::virtual_scheduler;

namespace {

// Logs each call it is told of; refuses to let calls start, or to let them end well, on demand.
struct recorder {
  std::string name;
  std::vector<std::string>& log;
  bool refuse_start = false, refuse_end = false;
  void before(std::string_view op) {
    log.push_back(name + ":before " + std::string(op));
    if (refuse_start) alivpc::fail(alivpc::error_kind::cancelled, name + " refused the start");
  }
  void after(std::string_view op, const std::exception_ptr& e) {
    log.push_back(name + ":after " + std::string(op) + (e ? " failed" : " ok"));
    if (refuse_end) alivpc::fail(alivpc::error_kind::cancelled, name + " refused the end");
  }
};

task<int> answer_later(virtual_scheduler& s, std::vector<std::string>& log, bool fails) {
  log.push_back("call runs");
  co_await alivpc::sleep_for(s, 1s);
  if (fails) alivpc::fail(alivpc::error_kind::transient, "the call failed");
  co_return 42;
}

task<void> await_and_log(task<int> t, std::vector<std::string>& log) {
  try {
    const int v = co_await std::move(t);
    log.push_back("awaiter got " + std::to_string(v));
  } catch (const alivpc::error& e) {
    log.push_back(std::string("awaiter caught: ") + e.what());
  }
}

// Runs `t` to its end; what it returned or threw, logged.
void run(virtual_scheduler& s, task<int> t, std::vector<std::string>& log) {
  alivpc::spawn(s, await_and_log(std::move(t), log));
  s.run();
}

TEST(Observe, TellsTheObserverAsTheCallIsAwaitedAndAsItEnds) {
  virtual_scheduler s;
  std::vector<std::string> log;
  recorder o{"o", log};
  auto t = alivpc::observe(o, "answer", answer_later(s, log, false));
  EXPECT_TRUE(log.empty()) << "told before the call was awaited";
  run(s, std::move(t), log);
  EXPECT_EQ(log, (std::vector<std::string>{"o:before answer", "call runs", "o:after answer ok",
                                           "awaiter got 42"}));
}

// The log of one observed call to answer_later, with the observer refusing as asked.
std::vector<std::string> log_of_one_call(bool call_fails, bool refuse_start, bool refuse_end) {
  virtual_scheduler s;
  std::vector<std::string> log;
  recorder o{"o", log, refuse_start, refuse_end};
  run(s, alivpc::observe(o, "answer", answer_later(s, log, call_fails)), log);
  return log;
}

TEST(Observe, AFailureReachesTheObserverAndThenTheAwaiter) {
  EXPECT_EQ(log_of_one_call(true, false, false),
            (std::vector<std::string>{"o:before answer", "call runs", "o:after answer failed",
                                      "awaiter caught: the call failed"}));
}

TEST(Observe, ARefusalBeforeKeepsTheCallFromRunning) {
  EXPECT_EQ(log_of_one_call(false, true, false),
            (std::vector<std::string>{"o:before answer", "awaiter caught: o refused the start"}));
}

TEST(Observe, ARefusalAfterReplacesTheOutcome) {
  EXPECT_EQ(log_of_one_call(false, false, true),
            (std::vector<std::string>{"o:before answer", "call runs", "o:after answer ok",
                                      "awaiter caught: o refused the end"}));
}

TEST(Observe, TwoObserversNestTheOuterOneOutside) {
  virtual_scheduler s;
  std::vector<std::string> log;
  recorder inner{"inner", log}, outer{"outer", log};
  auto t = alivpc::observe(outer, "outer call",
                           alivpc::observe(inner, "inner call", answer_later(s, log, true)));
  run(s, std::move(t), log);
  EXPECT_EQ(log, (std::vector<std::string>{"outer:before outer call", "inner:before inner call",
                                           "call runs", "inner:after inner call failed",
                                           "outer:after outer call failed",
                                           "awaiter caught: the call failed"}));
}

}  // namespace
