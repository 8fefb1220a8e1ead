// Several endpoints of one service (etcd's --etcd-endpoints a,b,c) with failover: a request goes
// to the current endpoint; a transient failure moves on to the next one; after every endpoint
// failed once, the pool waits a capped exponential backoff with full jitter (drawn from the
// scheduler's prng) and goes round again, until give_up_after has passed.
#pragma once

#include <alivpc/runtime/backoff.hpp>
#include <alivpc/detail/strings.hpp>
#include <alivpc/error.hpp>
#include <alivpc/http/client.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace alivpc::http {

struct backoff_options {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{10000};            // the cap of the exponential growth
  std::chrono::milliseconds give_up_after{60000};  // 0: retry forever
  // Full jitter: many clients of one etcd spread out the most.
  backoff_policy policy() const { return {initial, max, jitter::full}; }
};

inline std::vector<url> parse_endpoints(std::string_view comma_separated) {
  std::vector<url> out;
  for (const auto& item : alivpc::detail::split_list(comma_separated))
    out.push_back(url::parse(item));
  if (out.empty()) fail(error_kind::invalid_argument, "endpoint list is empty");
  return out;
}

class endpoint_pool {
 public:
  endpoint_pool(boost::asio::io_context& io, std::vector<url> endpoints,
                const client_options& opts = {}, backoff_options backoff = {})
      : backoff_(backoff), log_(opts.log) {
    if (endpoints.empty()) fail(error_kind::invalid_argument, "endpoint_pool: no endpoints");
    for (auto& e : endpoints)
      clients_.push_back(std::make_unique<client>(io, std::move(e), opts));
    said_.resize(clients_.size());
  }

  // Says (warning) that the current endpoint failed with `e` and that the pool moves on: a
  // refused or hung etcd must show in the log at once, not after the give-up deadline. At most
  // one line per endpoint per log_every, with the count of failures not said.
  void note_failure(const error& e, time_point now) {
    auto& s = said_[current_];
    if (s.last != time_point{} && now - s.last < log_every) {
      ++s.suppressed;
      return;
    }
    std::string msg = std::string(e.what());
    if (clients_.size() > 1)
      msg += "; trying " + clients_[(current_ + 1) % clients_.size()]->endpoint().to_string();
    if (s.suppressed)
      msg += " (" + std::to_string(s.suppressed) + " more failures of this endpoint not shown)";
    s.last = now;
    s.suppressed = 0;
    log_.warn(msg);
  }
  static constexpr std::chrono::seconds log_every{10};

  client& current() noexcept { return *clients_[current_]; }
  std::size_t size() const noexcept { return clients_.size(); }
  client& at(std::size_t i) noexcept { return *clients_[i]; }
  void advance() noexcept { current_ = (current_ + 1) % clients_.size(); }
  const backoff_options& backoff() const noexcept { return backoff_; }

  // "http://a:2379, http://b:2379"
  std::string describe() const {
    std::string s;
    for (const auto& c : clients_)
      s += (s.empty() ? "" : ", ") + c->endpoint().to_string();
    return s;
  }

  // Runs op(client&) -> task<T> with failover and backoff; rethrows non-transient errors at once.
  // op is taken by reference and must outlive the returned task: inside a coroutine, name it
  // (`auto op = [..](http::client& c) {..}; co_await pool.with_failover(s, op);`; see task.hpp).
  template <scheduler S, class Op>
  auto with_failover(S& sched, Op&& op) -> decltype(op(std::declval<client&>())) {
    const auto started = sched.now();
    unsigned failures = 0;
    for (unsigned round = 0;; ++round) {
      for (std::size_t tried = 0; tried < clients_.size(); ++tried) {
        std::optional<error> last;
        try {
          co_return co_await op(current());
        } catch (const error& e) {
          if (!e.retryable()) throw;
          last = e;
        }
        ++failures;
        note_failure(*last, sched.now());
        current().reset();
        advance();
        if (backoff_.give_up_after.count() > 0 && sched.now() - started >= backoff_.give_up_after)
          fail(error_kind::transient, std::string(last->what()) + " (gave up after " +
                                          std::to_string(failures) + " attempts on " + describe() +
                                          ")");
      }
      co_await sleep_for(sched, backoff_delay(backoff_.policy(), round, sched.random()));
    }
  }

 private:
  struct said {
    time_point last{};
    std::uint64_t suppressed = 0;
  };
  std::vector<std::unique_ptr<client>> clients_;
  std::size_t current_ = 0;
  backoff_options backoff_;
  alivpc::logger log_;
  std::vector<said> said_;
};

}  // namespace alivpc::http
