// lease_keeper: holds one node's lease for as long as the daemon runs.
//
//   acquire()  claims a lease (flannel's order, see lease_store), retrying an unreachable store
//              with capped exponential backoff and full jitter (the scheduler's prng);
//   keep()     renews it `renew_margin` before it expires, retries a failed renewal with backoff,
//              and watches its own key (only: a node never pays for the cluster's other
//              leases) so that a deleted key is noticed within one watch round trip. It returns the
//              loss (deleted, expired, taken, store reset) or nullopt after stop(); a loss is also
//              announced through on_loss and lost(), never dropped.
//
// A lease is one claim of a key, not a subnet: events and listings are matched by the claim's
// create_revision (and v3 lease id), so an old deletion of the same key that arrives after a
// re-claim is not a loss, and a key deleted and re-created by someone else is. The watch resumes
// after the last delivered event, reads the key again after every error or compaction and checks
// it each time; a store whose cluster id changes or whose revision goes backwards (etcd rebuilt
// from nothing) is checked at once. Renewal runs on its own timer, so nothing the caller does
// (route work, a slow cloud) can delay it; the expiry itself is a timer too.
#pragma once

#include <alivpc/runtime/backoff.hpp>
#include <alivpc/error.hpp>
#include <alivpc/lease/lease_store.hpp>
#include <alivpc/runtime/scheduler.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace alivpc::lease {

enum class lease_loss_reason { deleted, expired, taken, store_reset };

constexpr std::string_view to_string(lease_loss_reason r) {
  switch (r) {
    case lease_loss_reason::deleted:
      return "deleted";
    case lease_loss_reason::expired:
      return "expired";
    case lease_loss_reason::taken:
      return "taken by another node";
    case lease_loss_reason::store_reset:
      return "gone after etcd lost its data";
  }
  return "lost";
}

struct lease_loss {
  lease_loss_reason reason;
  lease last;                       // the lease as we last held it
  std::string detail;               // what told us (the store's error or the watch event)
  std::optional<lease> taken_by{};  // for `taken`: the claim now on the key, when known
};

struct keeper_options {
  std::chrono::seconds ttl = std::chrono::hours(24);             // lease TTL (flannel: 24 h)
  std::chrono::seconds renew_margin = std::chrono::minutes(60);  // --subnet-lease-renew-margin
  // Full jitter, from 1 s up to 1 min (flannel retries a failed renewal after 1 min).
  backoff_policy backoff{std::chrono::seconds(1), std::chrono::minutes(1), jitter::full};
  // The watch reconnects faster than renewals retry: after an outage, a key deleted (or an etcd
  // rebuilt) meanwhile is noticed within seconds of etcd's return.
  backoff_policy watch_backoff{std::chrono::milliseconds(500), std::chrono::seconds(5),
                               jitter::full};
  bool watch = true;  // watch the subnets to notice a deleted key at once
};

template <lease_store Store, scheduler S>
class lease_keeper {
 public:
  lease_keeper(Store& store, S& sched, keeper_options opts = {})
      : store_(store), s_(sched), opts_(opts), wake_(sched), lost_(sched), watch_done_(sched) {
    if (opts_.ttl.count() <= 0) fail(error_kind::invalid_argument, "lease TTL must be positive");
    if (opts_.renew_margin >= opts_.ttl || opts_.renew_margin.count() < 0)
      fail(error_kind::invalid_argument, "--subnet-lease-renew-margin (" +
                                             std::to_string(opts_.renew_margin.count()) +
                                             " s) must be shorter than --subnet-lease-ttl (" +
                                             std::to_string(opts_.ttl.count()) + " s)");
  }
  lease_keeper(const lease_keeper&) = delete;
  lease_keeper& operator=(const lease_keeper&) = delete;

  // Called once when the lease is lost (before keep() returns), synchronously: the caller can
  // stop trusting the lease before anything else runs.
  std::function<void(const lease_loss&)> on_loss;
  // Called after each successful renewal (for logs and metrics).
  std::function<void(const lease&)> on_renewed;
  // Called after a failed list or watch, before the backoff (for a debug log).
  std::function<void(const error&)> on_watch_error;
  // Called when the store turns out to be a different or rebuilt etcd (for the log).
  std::function<void(const std::string&)> on_store_reset;

  const std::optional<lease>& current() const noexcept { return current_; }
  const std::optional<lease_loss>& loss() const noexcept { return loss_; }
  async_event<S>& lost() noexcept { return lost_; }
  const keeper_options& options() const noexcept { return opts_; }
  std::uint64_t renewals() const noexcept { return renewals_; }
  std::uint64_t renewal_failures() const noexcept { return renewal_failures_; }

  // When etcd last confirmed the lease as ours (acquired, renewed, or seen in a listing); nullopt
  // while it is in doubt (a renewal or the watch is failing) or lost.
  std::optional<time_point> confirmed_at() const noexcept {
    if (loss_ || !current_ || renew_failing_ || watch_failing_) return std::nullopt;
    return confirmed_at_;
  }

  // Asks etcd now whether the lease is still ours (a read of its key); true when it is. A missing
  // or foreign key is declared lost; an unreachable store leaves it in doubt (false).
  task<bool> confirm() {
    if (!current_ || loss_) co_return false;
    std::optional<lease_list> list;
    try {
      list = co_await store_.list_lease(current_->subnet);
    } catch (const error&) {
      co_return false;
    }
    check_identity(list->store);
    check_listed(list->leases);
    co_return !loss_;
  }

  // Retries transient failures (unreachable store) forever, until stop(); other errors
  // (exhausted, invalid config, permission) are thrown at once.
  task<lease> acquire(const config::network_config& cfg, const lease_attrs& attrs,
                      std::optional<net::ipv4_cidr> previous) {
    attrs_ = attrs;
    for (unsigned attempt = 0;; ++attempt) {
      std::optional<error> failure;
      try {
        auto got = co_await store_.acquire_lease(cfg, attrs, previous, opts_.ttl);
        current_ = got;
        loss_.reset();
        lost_.reset();
        confirmed_at_ = s_.now();
        co_return got;
      } catch (const error& e) {
        if (!e.retryable()) throw;
        failure = e;
      }
      if (stopped_)
        fail(error_kind::cancelled,
             std::string("acquire lease stopped; last error: ") + failure->what());
      if (on_acquire_retry) on_acquire_retry(*failure);
      co_await wake_.wait_until(s_.now() + backoff_delay(opts_.backoff, attempt, s_.random()));
      if (stopped_)
        fail(error_kind::cancelled,
             std::string("acquire lease stopped; last error: ") + failure->what());
    }
  }
  // Called before each retry of a failed acquire (for a rate-limited "still waiting" log).
  std::function<void(const error&)> on_acquire_retry;

  // Keeps the lease taken by acquire() (or given here) until stop() or its loss.
  task<std::optional<lease_loss>> keep() { return keep(std::optional<lease>{}); }
  task<std::optional<lease_loss>> keep(std::optional<lease> held) {
    if (held) {
      current_ = held;
      attrs_ = held->attrs;
      loss_.reset();
      lost_.reset();
      confirmed_at_ = s_.now();
    }
    if (!current_)
      fail(error_kind::invalid_argument, "lease_keeper::keep: no lease (call acquire first)");
    const std::uint64_t generation = ++generation_;
    renew_failing_ = watch_failing_ = false;
    if (opts_.watch) {
      ++watches_in_flight_;
      spawn(s_, watch_loop(generation), [this](const std::exception_ptr&) {
        --watches_in_flight_;
        watch_done_.notify();
      });
    }
    time_point next = renewal_due();
    unsigned failures = 0;
    while (!stopped_ && !loss_) {
      // The expiry is a deadline of its own: a lease that could not be renewed in time is lost
      // at its expiry, not at the next retry.
      const time_point expiry = expiry_due();
      co_await wake_.wait_until(std::min(next, expiry));
      if (stopped_ || loss_) break;
      if (s_.now() >= expiry) {
        declare_loss(lease_loss_reason::expired, "not renewed before it expired");
        break;
      }
      if (s_.now() < next) continue;  // woken for another reason
      std::string why;
      bool gone = false;
      try {
        auto renewed = co_await store_.renew_lease(*current_, opts_.ttl);
        if (loss_ || stopped_) break;
        current_ = renewed;
        failures = 0;
        renew_failing_ = false;
        confirmed_at_ = s_.now();
        ++renewals_;
        next = renewal_due();
        if (on_renewed) on_renewed(*current_);
        continue;
      } catch (const error& e) {
        why = e.what();
        gone = e.kind() == error_kind::not_found;  // anything else: retry with backoff
      }
      if (loss_ || stopped_) break;
      ++renewal_failures_;
      if (gone) {
        const bool expired = current_->expiration && s_.wall_now() >= *current_->expiration;
        declare_loss(expired ? lease_loss_reason::expired : lease_loss_reason::deleted, why);
        break;
      }
      renew_failing_ = true;
      next =
          s_.now() + std::max<clock_duration>(backoff_delay(opts_.backoff, failures++, s_.random()),
                                              std::chrono::milliseconds(1));
    }
    // The watch call in flight is not waited for (a stop must be prompt, a new claim must not
    // wait for it): it ends on its own and, being of an old generation, acts on nothing.
    co_return loss_;
  }

  // Waits until no watch call of this keeper is in flight (before destroying the keeper while
  // its scheduler keeps running; a process that exits need not).
  task<void> drain() {
    while (watches_in_flight_ > 0)
      co_await watch_done_.wait();
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
  time_point expiry_due() const {
    if (!current_ || current_->is_reservation()) return time_point::max();
    auto left = *current_->expiration - s_.wall_now();
    if (left < decltype(left)::zero()) left = decltype(left)::zero();
    return s_.now() + std::chrono::duration_cast<clock_duration>(left);
  }

  void declare_loss(lease_loss_reason reason, std::string why,
                    std::optional<lease> taken_by = std::nullopt) {
    if (loss_ || !current_) return;
    loss_ = lease_loss{reason, *current_, std::move(why), std::move(taken_by)};
    if (on_loss) on_loss(*loss_);
    lost_.set();  // until the next acquire()
    wake_.notify();
  }

  task<void> watch_loop(std::uint64_t generation) {
    const net::ipv4_cidr subnet = current_->subnet;  // a new claim is a new generation
    std::int64_t revision = 0;
    unsigned failures = 0;
    bool listed = false;
    // Only the newest keep()'s watch may act; an older one ends at its next step.
    auto current = [&] { return !stopped_ && !loss_ && generation == generation_; };
    while (current()) {
      std::optional<error> failure;
      try {
        // A fresh read of our key before the first watch, after a compaction and after every
        // error: the watch then resumes from the revision that read was a snapshot of.
        if (!listed) {
          auto list = co_await store_.list_lease(subnet);
          if (!current()) break;
          check_identity(list.store);
          revision = list.revision;
          listed = true;
          check_listed(list.leases);
          if (!current()) break;
        }
        auto w = co_await store_.watch_lease(subnet, revision);
        if (!current()) break;
        if (check_identity(w.store)) {
          listed = false;  // a rebuilt store: our key must be looked up, not waited for
          continue;
        }
        revision = std::max(revision, w.revision);
        failures = 0;
        watch_failing_ = false;
        for (const auto& ev : w.events)
          check_event(ev);
        if (w.resynced) listed = false;
      } catch (const error& e) {
        failure = e;
      }
      if (failure && current()) {
        if (on_watch_error) on_watch_error(*failure);
        watch_failing_ = true;
        listed = false;
        co_await wake_.wait_until(s_.now() +
                                  backoff_delay(opts_.watch_backoff, failures++, s_.random()));
      }
    }
    --watches_in_flight_;
    watch_done_.notify();
  }

  // Notes who answered; true when the store is not the one we knew (new cluster id, or a
  // revision lower than one we have seen): etcd was rebuilt and may have lost our key.
  bool check_identity(const store_identity& id) {
    const auto why = answered_by_.note(id);
    const bool reset = !why.empty();
    if (reset) {
      store_reset_ = true;
      if (on_store_reset) on_store_reset(why + ": etcd lost its data; checking our lease");
    }
    return reset;
  }

  // Our key in a listing (of it alone, or of every key): missing, or another claim, is a loss.
  void check_listed(const std::vector<lease>& leases) {
    if (loss_ || stopped_ || !current_) return;
    const bool reset = std::exchange(store_reset_, false);
    for (const auto& l : leases)
      if (l.subnet == current_->subnet) {
        if (!same_claim(l)) {
          declare_loss(lease_loss_reason::taken,
                       "the key of " + current_->subnet.to_string() +
                           " is another claim now (PublicIP " + l.attrs.public_ip.to_string() +
                           ", created at revision " + std::to_string(l.create_revision) + ")",
                       l);
          return;
        }
        if (l.expiration) current_->expiration = l.expiration;
        confirmed_at_ = s_.now();
        return;
      }
    if (current_->is_reservation()) return;  // an operator removed it: it never was a claim
    declare_loss(reset           ? lease_loss_reason::store_reset
                 : expired_now() ? lease_loss_reason::expired
                                 : lease_loss_reason::deleted,
                 "the key of " + current_->subnet.to_string() + " is missing from the store");
  }

  void check_event(const lease_event& ev) {
    if (loss_ || stopped_ || !current_ || ev.value.subnet != current_->subnet) return;
    const auto& ours = *current_;
    if (ev.type == lease_event_type::removed) {
      // A deletion at or before our claim's creation is history (an older claim's end).
      if (ours.create_revision && ev.value.revision && ev.value.revision <= ours.create_revision)
        return;
      if (ours.create_revision && ev.value.create_revision &&
          ev.value.create_revision != ours.create_revision)
        return;
      declare_loss(expired_now() ? lease_loss_reason::expired : lease_loss_reason::deleted,
                   "watch: the key of " + ours.subnet.to_string() + " was removed");
      return;
    }
    if (ours.create_revision && ev.value.revision && ev.value.revision <= ours.create_revision)
      return;  // our own creation, or older
    if (!same_claim(ev.value))
      declare_loss(lease_loss_reason::taken,
                   "watch: the key of " + ours.subnet.to_string() +
                       " is another claim now (PublicIP " + ev.value.attrs.public_ip.to_string() +
                       ")",
                   ev.value);
  }

  // The same claim: the same creation (when the store says), the same v3 lease, the same owner.
  bool same_claim(const lease& l) const {
    const auto& ours = *current_;
    if (ours.create_revision && l.create_revision && ours.create_revision != l.create_revision)
      return false;
    if (ours.lease_id && l.lease_id && ours.lease_id != l.lease_id) return false;
    return same_owner(l.attrs, attrs_);
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
  time_point confirmed_at_{};
  store_tracker answered_by_;  // the etcd that answers
  std::uint64_t generation_ = 0, renewals_ = 0, renewal_failures_ = 0;
  int watches_in_flight_ = 0;
  bool stopped_ = false, renew_failing_ = false, watch_failing_ = false, store_reset_ = false;
  async_event<S> wake_, lost_, watch_done_;
};

}  // namespace alivpc::lease
