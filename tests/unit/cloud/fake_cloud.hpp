// Test helpers for the cloud unit tests: run a task to completion on virtual time, and a
// scripted in-process transport that records every request.
#pragma once

#include <alivpc/cloud/transport.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc_test/query_param.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fake_cloud {

template <class T>
T run(alivpc::virtual_scheduler& s, alivpc::task<T> t) {
  std::optional<T> result;
  std::exception_ptr error;
  auto wrapper = [](alivpc::task<T> t, std::optional<T>& out) -> alivpc::task<void> {
    out.emplace(co_await std::move(t));
  };
  alivpc::spawn(s, wrapper(std::move(t), result), [&](std::exception_ptr e) { error = e; });
  s.run();
  if (error) std::rethrow_exception(error);
  if (!result) throw std::runtime_error("task did not finish");
  return std::move(*result);
}

inline void run(alivpc::virtual_scheduler& s, alivpc::task<void> t) {
  std::exception_ptr error;
  bool done = false;
  auto wrapper = [](alivpc::task<void> t, bool& d) -> alivpc::task<void> {
    co_await std::move(t);
    d = true;
  };
  alivpc::spawn(s, wrapper(std::move(t), done), [&](std::exception_ptr e) { error = e; });
  s.run();
  if (error) std::rethrow_exception(error);
  if (!done) throw std::runtime_error("task did not finish");
}

struct recorded {
  alivpc::time_point at;
  alivpc::http::request request;
};

// Answers from a handler; records (time, request) of each call.
struct transport {
  alivpc::virtual_scheduler* sched = nullptr;
  std::function<alivpc::http::response(const alivpc::http::request&)> handler;
  std::vector<recorded> log;

  alivpc::cloud::send_function sender() {
    return [this](alivpc::http::request r) -> alivpc::task<alivpc::http::response> {
      return answer(this, std::move(r));
    };
  }
  alivpc::cloud::transport_factory factory() {
    return
        [this](const alivpc::http::url&, const alivpc::http::client_options&) { return sender(); };
  }

 private:
  static alivpc::task<alivpc::http::response> answer(transport* self, alivpc::http::request r) {
    self->log.push_back({self->sched->now(), r});
    co_return self->handler(r);
  }
};

inline alivpc::http::response reply(unsigned status, std::string body) {
  alivpc::http::response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The value of a query parameter of a request target ("" when absent), decoded.
using alivpc_test::query_param;

inline std::string header(const alivpc::http::request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (alivpc::http::iequals(k, name)) return v;
  return {};
}

}  // namespace fake_cloud
