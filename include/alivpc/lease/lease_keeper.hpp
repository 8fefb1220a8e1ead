// lease_keeper: holds one node's lease for as long as the daemon runs.
//
//   acquire()  claims a lease (flannel's order, see lease_store), retrying an unreachable store
//              with capped exponential backoff and full jitter (the scheduler's prng);
//   keep()     renews it `renew_margin` before it expires, retries a failed renewal with backoff,
//              and watches the subnets so that a deleted key is noticed within one watch round
//              trip. It returns the loss (deleted, expired, taken) or nullopt after stop(); a loss
//              is also announced through on_loss and lost() — never silently dropped.
#pragma once

#include <alivpc/error.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace alivpc::lease {

enum class lease_loss_reason { deleted, expired, taken };

constexpr std::string_view to_string(lease_loss_reason r) {
  switch (r) {
    case lease_loss_reason::deleted:
      return "deleted";
    case lease_loss_reason::expired:
      return "expired";
    case lease_loss_reason::taken:
      return "taken by another node";
  }
  return "lost";
}

struct lease_loss {
  lease_loss_reason reason;
  lease last;          // the lease as we last held it
  std::string detail;  // what told us (the store's error or the watch event)
};

struct retry_backoff {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{60000};  // flannel retries a failed renewal after 1 min
};

struct keeper_options {
  std::chrono::seconds ttl = std::chrono::hours(24);             // lease TTL (flannel: 24 h)
  std::chrono::seconds renew_margin = std::chrono::minutes(60);  // --subnet-lease-renew-margin
  retry_backoff backoff;
  bool watch = true;  // watch the subnets to notice a deleted key at once
};

// Full jitter: uniform in [0, min(max, initial * 2^attempt)].
inline clock_duration jittered_backoff(prng& rng, unsigned attempt, const retry_backoff& b) {
  const auto ceiling =
      std::min<std::int64_t>(b.max.count(), b.initial.count() << std::min(attempt, 30u));
  return std::chrono::milliseconds(rng.between(0, std::max<std::int64_t>(ceiling, 0)));
}

template <lease_store Store, scheduler S>
class lease_keeper {
 public:
  lease_keeper(Store& store, S& sched, keeper_options opts = {})
      : store_(store), s_(sched), opts_(opts), wake_(sched), lost_(sched), watch_done_(sched) {
    if (opts_.ttl.count() <= 0) fail(error_kind::invalid_argument, "lease TTL must be positive");
    if (opts_.renew_margin >= opts_.ttl || opts_.renew_margin.count() < 0)
      fail(error_kind::invalid_argument, "subnet lease renew margin (" +
                                             std::to_string(opts_.renew_margin.count()) +
                                             " s) must be shorter than the lease TTL (" +
                                             std::to_string(opts_.ttl.count()) + " s)");
  }
  lease_keeper(const lease_keeper&) = delete;
  lease_keeper& operator=(const lease_keeper&) = delete;

  // Called once when the lease is lost (before keep() returns).
  std::function<void(const lease_loss&)> on_loss;
  // Called after each successful renewal (for logs and metrics).
  std::function<void(const lease&)> on_renewed;

  const std::optional<lease>& current() const noexcept { return current_; }
  const std::optional<lease_loss>& loss() const noexcept { return loss_; }
  async_event<S>& lost() noexcept { return lost_; }
  const keeper_options& options() const noexcept { return opts_; }

  // Retries transient failures (unreachable store) forever, until stop(); other errors
  // (exhausted, invalid config, permission) are thrown at once.
  task<lease> acquire(const config::network_config& cfg, const lease_attrs& attrs,
                      std::optional<net::ipv4_cidr> previous) {
    attrs_ = attrs;
    for (unsigned attempt = 0;; ++attempt) {
      std::optional<error> failure;
      try {
        current_ = co_await store_.acquire_lease(cfg, attrs, previous, opts_.ttl);
        co_return *current_;
      } catch (const error& e) {
        if (!e.retryable()) throw;
        failure = e;
      }
      if (stopped_)
        fail(error_kind::cancelled,
             std::string("acquire lease stopped; last error: ") + failure->what());
      co_await wake_.wait_until(s_.now() + jittered_backoff(s_.random(), attempt, opts_.backoff));
      if (stopped_)
        fail(error_kind::cancelled,
             std::string("acquire lease stopped; last error: ") + failure->what());
    }
  }

  // Keeps the lease taken by acquire() (or given here) until stop() or its loss.
  task<std::optional<lease_loss>> keep(std::optional<lease> held = std::nullopt) {
    if (held) {
      current_ = held;
      attrs_ = held->attrs;
    }
    if (!current_)
      fail(error_kind::invalid_argument, "lease_keeper::keep: no lease (call acquire first)");
    if (opts_.watch) {
      watching_ = true;
      spawn(s_, watch_loop(), [this](const std::exception_ptr&) {
        watching_ = false;
        watch_done_.set();
      });
    }
    time_point next = renewal_due();
    unsigned failures = 0;
    while (!stopped_ && !loss_) {
      co_await wake_.wait_until(next);
      if (stopped_ || loss_) break;
      if (s_.now() < next) continue;  // woken for another reason
      if (current_->is_reservation()) {
        next = time_point::max();
        continue;
      }
      std::string why;
      bool gone = false;
      try {
        current_ = co_await store_.renew_lease(*current_, opts_.ttl);
        failures = 0;
        next = renewal_due();
        if (on_renewed) on_renewed(*current_);
        continue;
      } catch (const error& e) {
        why = e.what();
        gone = e.kind() == error_kind::not_found;  // anything else: retry with backoff
      }
      if (loss_) break;
      if (gone) {
        const bool expired = current_->expiration && s_.wall_now() >= *current_->expiration;
        declare_loss(expired ? lease_loss_reason::expired : lease_loss_reason::deleted, why);
        break;
      }
      if (current_->expiration && s_.wall_now() >= *current_->expiration) {
        declare_loss(lease_loss_reason::expired, "could not renew before expiry: " + why);
        break;
      }
      next = s_.now() +
             std::max<clock_duration>(jittered_backoff(s_.random(), failures++, opts_.backoff),
                                      std::chrono::milliseconds(1));
    }
    while (watching_)
      co_await watch_done_.wait();
    co_return loss_;
  }

  // Ends keep() (after the watch in flight returns) and any acquire() backoff.
  void stop() {
    stopped_ = true;
    wake_.set();
  }

 private:
  time_point renewal_due() const {
    if (current_->is_reservation()) return time_point::max();
    auto left = *current_->expiration - s_.wall_now() - opts_.renew_margin;
    if (left < decltype(left)::zero()) left = decltype(left)::zero();
    return s_.now() + std::chrono::duration_cast<clock_duration>(left);
  }

  void declare_loss(lease_loss_reason reason, std::string why) {
    if (loss_) return;
    loss_ = lease_loss{reason, *current_, std::move(why)};
    if (on_loss) on_loss(*loss_);
    lost_.set();
    wake_.set();
  }

  task<void> watch_loop() {
    std::int64_t revision = 0;
    unsigned failures = 0;
    bool listed = false;
    while (!stopped_ && !loss_) {
      std::optional<error> failure;
      try {
        if (!listed) {
          auto list = co_await store_.list_leases();
          revision = list.revision;
          listed = true;
          check_listed(list.leases);
        }
        auto w = co_await store_.watch_leases(revision);
        revision = w.revision;
        failures = 0;
        if (w.resynced) listed = false;  // the diff already covers us; re-check on the next list
        for (const auto& ev : w.events)
          check_event(ev);
      } catch (const error& e) {
        failure = e;
      }
      if (failure && !stopped_ && !loss_)
        co_await wake_.wait_until(s_.now() +
                                  jittered_backoff(s_.random(), failures++, opts_.backoff));
    }
    watching_ = false;
    watch_done_.set();
  }

  void check_listed(const std::vector<lease>& leases) {
    if (loss_ || stopped_) return;
    for (const auto& l : leases)
      if (l.subnet == current_->subnet) {
        if (l.attrs.public_ip != attrs_.public_ip)
          declare_loss(lease_loss_reason::taken,
                       "the subnet's key now names PublicIP " + l.attrs.public_ip.to_string());
        return;
      }
    declare_loss(expired_now() ? lease_loss_reason::expired : lease_loss_reason::deleted,
                 "the key of " + current_->subnet.to_string() + " is missing from the store");
  }

  void check_event(const lease_event& ev) {
    if (loss_ || stopped_ || ev.value.subnet != current_->subnet) return;
    if (ev.type == lease_event_type::removed) {
      declare_loss(expired_now() ? lease_loss_reason::expired : lease_loss_reason::deleted,
                   "watch: the key of " + current_->subnet.to_string() + " was removed");
    } else if (ev.value.attrs.public_ip != attrs_.public_ip) {
      declare_loss(lease_loss_reason::taken, "watch: the subnet's key now names PublicIP " +
                                                 ev.value.attrs.public_ip.to_string());
    }
  }

  bool expired_now() const {
    return current_->expiration && s_.wall_now() >= *current_->expiration;
  }

  Store& store_;
  S& s_;
  keeper_options opts_;
  lease_attrs attrs_;
  std::optional<lease> current_;
  std::optional<lease_loss> loss_;
  bool stopped_ = false, watching_ = false;
  async_event<S> wake_, lost_, watch_done_;
};

}  // namespace alivpc::lease
