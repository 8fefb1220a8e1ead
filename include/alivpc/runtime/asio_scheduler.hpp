// Real time on an Asio io_context (one thread). The daemon and embedding agents use this one.
#pragma once

#include <alivpc/runtime/scheduler.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <random>
#include <unordered_map>

namespace alivpc {

class asio_scheduler {
 public:
  // Seed 0 means "from std::random_device": real deployments want different jitter per node.
  explicit asio_scheduler(boost::asio::io_context& io, std::uint64_t seed = 0)
      : io_(io),
        rng_(seed ? seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {
  }
  asio_scheduler(const asio_scheduler&) = delete;
  asio_scheduler& operator=(const asio_scheduler&) = delete;

  time_point now() const noexcept { return std::chrono::steady_clock::now(); }
  wall_time wall_now() const noexcept { return std::chrono::system_clock::now(); }
  prng& random() noexcept { return rng_; }
  boost::asio::io_context& io() noexcept { return io_; }

  timer_id call_at(time_point t, std::function<void()> fn) {
    timer_id id = ++next_id_;
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, t);
    timers_.emplace(id, timer);
    timer->async_wait([this, id, timer, fn = std::move(fn)](boost::system::error_code ec) {
      if (ec || timers_.erase(id) == 0) return;  // cancelled
      fn();
    });
    return id;
  }
  bool cancel(timer_id id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return false;
    auto timer = it->second;
    timers_.erase(it);
    timer->cancel();
    return true;
  }

 private:
  boost::asio::io_context& io_;
  std::unordered_map<timer_id, std::shared_ptr<boost::asio::steady_timer>> timers_;
  timer_id next_id_ = 0;
  prng rng_;
};

static_assert(scheduler<asio_scheduler>);

}  // namespace alivpc
