// Virtual time: an event queue ordered by (time, sequence number). Nothing sleeps for real, so
// thousands of simulated nodes run in one thread, and one seed always gives one event order.
#pragma once

#include <alivpc/runtime/scheduler.hpp>

#include <queue>
#include <unordered_map>

namespace alivpc {

class virtual_scheduler {
 public:
  // Virtual wall time starts at a fixed instant (2026-01-01T00:00:00Z) so runs are repeatable.
  static constexpr std::chrono::seconds wall_epoch{1767225600};

  explicit virtual_scheduler(std::uint64_t seed = 0) : rng_(seed) {}
  virtual_scheduler(const virtual_scheduler&) = delete;
  virtual_scheduler& operator=(const virtual_scheduler&) = delete;

  time_point now() const noexcept { return now_; }
  wall_time wall_now() const noexcept {
    return wall_time(std::chrono::duration_cast<wall_time::duration>(wall_epoch)) +
           std::chrono::duration_cast<wall_time::duration>(now_.time_since_epoch());
  }
  prng& random() noexcept { return rng_; }

  timer_id call_at(time_point t, std::function<void()> fn) {
    if (t < now_) t = now_;
    timer_id id = ++next_id_;
    queue_.push(entry{t, id});
    callbacks_.emplace(id, std::move(fn));
    return id;
  }
  bool cancel(timer_id id) { return callbacks_.erase(id) > 0; }

  // Runs the next event (at or before `limit`); false when there is none.
  bool step(time_point limit = time_point::max()) {
    while (!queue_.empty() && queue_.top().at <= limit) {
      entry e = queue_.top();
      queue_.pop();
      auto it = callbacks_.find(e.id);
      if (it == callbacks_.end()) continue;  // cancelled
      auto fn = std::move(it->second);
      callbacks_.erase(it);
      now_ = e.at;
      ++executed_;
      fn();
      return true;
    }
    return false;
  }
  // Runs every event due at or before t, then sets the clock to t.
  void run_until(time_point t) {
    while (step(t)) {
    }
    if (now_ < t) now_ = t;
  }
  void run_for(clock_duration d) { run_until(now_ + d); }
  // Runs until nothing is left (beware of periodic work: use run_until then).
  void run() {
    while (step()) {
    }
  }

  std::size_t pending() const noexcept { return callbacks_.size(); }
  std::uint64_t executed() const noexcept { return executed_; }

 private:
  struct entry {
    time_point at;
    timer_id id;  // ids grow with every call_at, so they are the sequence number too
    bool operator>(const entry& o) const noexcept { return at != o.at ? at > o.at : id > o.id; }
  };
  time_point now_{};
  std::priority_queue<entry, std::vector<entry>, std::greater<>> queue_;
  std::unordered_map<timer_id, std::function<void()>> callbacks_;
  timer_id next_id_ = 0;
  std::uint64_t executed_ = 0;
  prng rng_;
};

static_assert(scheduler<virtual_scheduler>);

}  // namespace alivpc
