// Virtual time: an event queue ordered by (time, sequence number). Nothing sleeps for real, so
// thousands of simulated nodes run in one thread, and one seed always gives one event order.
#pragma once

#include <alivpc/runtime/scheduler.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

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
    std::uint32_t slot = 0;
    if (free_.empty()) {
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      slot = free_.back();
      free_.pop_back();
    }
    auto& s = slots_[slot];
    ++s.generation;  // from 1: no id is 0 (0 means "no timer" to callers)
    s.fn = std::move(fn);
    ++live_;
    push(entry{t, ++sequence_, slot, s.generation});
    return timer_id{s.generation} << 32 | slot;
  }
  bool cancel(timer_id id) {
    const auto slot = static_cast<std::uint32_t>(id);
    if (slot >= slots_.size() || slots_[slot].generation != static_cast<std::uint32_t>(id >> 32) ||
        !slots_[slot].fn)
      return false;
    release(slot);
    return true;
  }

  // Runs the next event (at or before `limit`); false when there is none.
  bool step(time_point limit = time_point::max()) {
    while (!queue_.empty() && queue_.front().at <= limit) {
      const entry e = pop();
      auto& s = slots_[e.slot];
      if (s.generation != e.generation || !s.fn) continue;  // cancelled
      auto fn = std::move(s.fn);
      release(e.slot);
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

  std::size_t pending() const noexcept { return live_; }
  std::uint64_t executed() const noexcept { return executed_; }

 private:
  // A timer's callback lives in a reused slot; its id is (slot generation << 32 | slot), so a
  // cancel, or a queue entry, of a slot since reused finds another generation and does nothing.
  // (A hash map of callbacks by id cost an allocation and two lookups per timer: every call and
  // wait of every simulated node.) One slot would need 2^32 reuses for a generation to repeat.
  struct slot_state {
    std::function<void()> fn;
    std::uint32_t generation = 0;
  };
  struct entry {
    time_point at;
    std::uint64_t sequence;  // grows with every call_at: equal times run in call order
    std::uint32_t slot, generation;
    bool operator<(const entry& o) const noexcept {
      return at != o.at ? at < o.at : sequence < o.sequence;
    }
  };
  // The queue is a 4-ary min-heap, in (time, sequence) order: every entry's key is unique, so it
  // pops exactly what a binary heap would, in the same order. Four children a level halve the
  // levels of a pop's walk down, a chain of loads that each wait for the one before (in a
  // simulated week of 5,000 nodes, the binary heap's walk was 5% of the time, nearly all of it
  // waiting for memory).
  static constexpr std::size_t arity = 4;
  void push(const entry& e) {
    std::size_t i = queue_.size();
    queue_.push_back(e);
    while (i > 0) {
      const std::size_t parent = (i - 1) / arity;
      if (!(e < queue_[parent])) break;
      queue_[i] = queue_[parent];
      i = parent;
    }
    queue_[i] = e;
  }
  entry pop() {  // the queue is not empty
    const entry top = queue_.front();
    const entry last = queue_.back();
    queue_.pop_back();
    const std::size_t n = queue_.size();
    if (n == 0) return top;
    std::size_t i = 0;
    for (;;) {
      const std::size_t first = arity * i + 1;
      if (first >= n) break;
      std::size_t least = first;
      for (std::size_t c = first + 1; c < first + arity && c < n; ++c)
        if (queue_[c] < queue_[least]) least = c;
      if (!(queue_[least] < last)) break;
      queue_[i] = queue_[least];
      i = least;
    }
    queue_[i] = last;
    return top;
  }
  void release(std::uint32_t slot) {
    slots_[slot].fn = nullptr;
    free_.push_back(slot);
    --live_;
  }
  time_point now_{};
  std::vector<entry> queue_;  // push(), pop()
  std::vector<slot_state> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
  std::uint64_t sequence_ = 0;
  std::uint64_t executed_ = 0;
  prng rng_;
};

static_assert(scheduler<virtual_scheduler>);

}  // namespace alivpc
