// The runner's safety invariants, judged once per virtual second. Each of these is a violation:
// - etcd holds overlapping leases, or two ready nodes hold overlapping subnets;
// - fencing: a route S -> running node N while N holds no live lease on S (by etcd, not by N's
//   belief) for longer than stale_route_grace;
// - flapping: the next hop of S changes more than twice within an hour;
// - a ready node whose lease is gone from etcd (or is another claim) for longer than
//   ready_without_lease_grace;
// - leader mode: a route write started by a node that did not hold the route leader key then;
// - an API delete of a route S -> N while etcd holds S for N and N runs (and is not stopping):
//   a live node's route (whoever sent it: the route leader collecting, another node).
// The graces count the seconds in which the node could have known and acted (etcd reachable;
// for fencing also the cloud): nothing can notice a key deleted during a partition.
// A route entry for a ready node's subnet that points at another node is counted as misrouting
// (node-seconds).
//
// Incremental: the verdict depends only on etcd's keys, the nodes' running and ready states, and
// the route table (its entries, and their Pending/Deleting ends, which are known in advance). Each
// of these has a change counter; a second in which none moved and no entry changed state repeats
// the last verdict (the episodes' graces still count) instead of looking at the world again.
// That is exact, and what lets a week of 200 nodes run in seconds: most seconds only run timers
// and requests. The tests check the premise: `look_every_second` turns skipping off, and
// `verify_skips` fingerprints every input in each skipped second and counts a difference from
// the last look as a violation. And a cheap periodic sweep: a look happens anyway once none did
// for `full_look_period`, so that a change that ever slipped past the counters (a new kind of
// event that forgets its counter) is judged within the hour, not never. At rest that is 168
// looks a week.
#pragma once

#include <alivpc/sim/cluster.hpp>
#include <alivpc/sim/scenario.hpp>
#include <alivpc/sim/scenario_report.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace alivpc::sim {

class safety_checker {
 public:
  safety_checker(const scenario& sc, virtual_scheduler& s, vpc_model& model,
                 memory_etcd<virtual_scheduler>& etcd, cluster& c, std::string table,
                 scenario_report& r, bool look_every_second = false, bool verify_skips = false)
      : sc_(sc),
        s_(s),
        model_(model),
        etcd_(etcd),
        c_(c),
        table_(std::move(table)),
        r_(r),
        look_every_second_(look_every_second),
        verify_skips_(verify_skips) {
    model_.on_delete = [this](const route_entry_record& e) { on_delete(e); };
  }
  ~safety_checker() { model_.on_delete = nullptr; }
  safety_checker(const safety_checker&) = delete;
  safety_checker& operator=(const safety_checker&) = delete;

  // After each virtual second.
  void second() {
    for (auto& what : c_.take_unfenced_writes())
      note("leader fencing: " + what);
    const inputs now{model_.version(), etcd_.changes(), c_.version()};
    if (!look_every_second_ && seen_ && now == seen_inputs_ && s_.now() < next_look_due_) {
      if (verify_skips_ && fingerprint() != looked_at_)
        note("checker: a second was skipped although its inputs changed");
      carry();
    } else {
      look();
      seen_ = true;
      seen_inputs_ = now;
      if (verify_skips_) looked_at_ = fingerprint();
    }
  }

  // How many seconds looked at the world (the rest repeated a verdict): for the profile.
  std::uint64_t looks() const noexcept { return looks_; }

  static constexpr clock_duration full_look_period = std::chrono::hours(1);

 private:
  struct inputs {
    std::uint64_t model = 0, etcd = 0, nodes = 0;
    bool operator==(const inputs&) const = default;
  };
  // A timed invariant's episode: its age in countable seconds, whether it was counted, and what
  // to say when it is (written by the last look).
  struct episode {
    clock_duration age{};
    bool counted = false;
    std::string what;
  };

  double seconds_now() const {
    return std::chrono::duration<double>(s_.now().time_since_epoch()).count();
  }
  void note(const std::string& what) {
    ++r_.safety_violation_count;
    if (r_.events.size() < 100) r_.events.push_back({seconds_now(), "safety", what});
    if (r_.safety_violations.size() < 5)
      r_.safety_violations.push_back(
          "t=" +
          std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(s_.now().time_since_epoch())
                  .count()) +
          "s: " + what);
  }
  bool cloud_down() const {
    for (const auto& o : model_.config().outages)
      if (o.action == "*" && s_.now() >= o.from && s_.now() < o.to) return true;
    return false;
  }
  void age(episode& e, clock_duration grace, bool paused) {
    using namespace std::chrono_literals;
    if (!paused) e.age += 1s;
    if (!e.counted && e.age > grace) {
      e.counted = true;
      note(e.what);
    }
  }
  // Nothing looked at changed: the misrouting of the last look holds another second, and the
  // open episodes age.
  void carry() {
    r_.misrouted_node_seconds += misrouted_step_;
    age_episodes();
  }
  void on_delete(const route_entry_record& e) {
    if (e.system) return;
    auto it = etcd_.keys().find(lease::subnet_key(e.destination));
    if (it == etcd_.keys().end() || it->second.instance_id() != e.next_hop_id) return;
    for (auto& n : c_.nodes())
      if (n->instance_id == e.next_hop_id && n->running && !n->finished && !n->stopping)
        note("deleted the route " + e.destination.to_string() + " -> " + e.next_hop_id +
             " of a live node (etcd holds its lease)");
  }

  void age_episodes() {
    const bool etcd_down = etcd_.is_down(), fence_paused = etcd_down || cloud_down();
    for (auto& [key, e] : unfenced_)
      age(e, sc_.stale_route_grace, fence_paused);
    for (auto& [id, e] : ready_without_lease_)
      age(e, sc_.ready_without_lease_grace, etcd_down);
  }

  void look() {
    ++looks_;
    // Sorted vectors, not maps: a look at 5,000 nodes builds these every second of a mass join.
    const auto& leased = leased_by_subnet();
    // Whether the instance's process is alive now (an exited or killed one can clean nothing
    // up: its leftovers are the next incarnation's, or the route leader's, to remove).
    auto is_running = [](const cluster::node* n) {
      return n && n->running && !n->finished && n->backend;
    };
    // Whether etcd holds `subnet` for `instance` (one record per subnet key).
    auto held_by = [&](net::ipv4_cidr subnet, std::string_view instance) {
      auto it = std::upper_bound(leased.begin(), leased.end(), subnet,
                                 [](net::ipv4_cidr s, const auto& l) { return s < l.first; });
      return it != leased.begin() && std::prev(it)->first == subnet &&
             std::prev(it)->second == instance;
    };
    // Overlaps count once each, when they begin (not once per look).
    std::set<std::string> overlaps_now;
    for (std::size_t i = 1; i < leased.size(); ++i)
      if (leased[i - 1].first.overlaps(leased[i].first))
        overlaps_now.insert("etcd holds overlapping leases " + leased[i - 1].first.to_string() +
                            " and " + leased[i].first.to_string());
    std::vector<std::pair<net::ipv4_cidr, const cluster::node*>> ready;
    for (auto& n : c_.nodes())
      if (n->running && n->backend && n->backend->status().ready &&
          n->backend->status().current_lease)
        ready.emplace_back(n->backend->status().current_lease->subnet, n.get());
    std::sort(ready.begin(), ready.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (std::size_t i = 1; i < ready.size(); ++i)
      if (ready[i - 1].first.overlaps(ready[i].first))
        overlaps_now.insert("ready nodes " + ready[i - 1].second->instance_id + " and " +
                            ready[i].second->instance_id + " both hold " +
                            ready[i].first.to_string());
    for (const auto& what : overlaps_now)
      if (!overlaps_.count(what)) note(what);
    overlaps_ = std::move(overlaps_now);
    std::vector<std::reference_wrapper<const route_entry_record>> entries;  // no copies
    model_.for_each_entry(table_, s_.now(),
                          [&](const route_entry_record& e) { entries.emplace_back(e); });
    // Available custom entries, in destination order (the table's order: one per destination).
    std::vector<std::pair<net::ipv4_cidr, const std::string*>> hop;
    for (const route_entry_record& e : entries)
      if (!e.system && e.status(s_.now()) == entry_status::available)
        hop.emplace_back(e.destination, &e.next_hop_id);
    misrouted_step_ = 0;
    for (auto& [subnet, n] : ready) {
      auto it = std::lower_bound(hop.begin(), hop.end(), subnet,
                                 [](const auto& h, net::ipv4_cidr c) { return h.first < c; });
      if (it != hop.end() && it->first == subnet && *it->second != n->instance_id)
        ++misrouted_step_;
    }
    r_.misrouted_node_seconds += misrouted_step_;

    // Fencing and flapping, over every custom entry.
    std::map<std::pair<net::ipv4_cidr, std::string>, std::string> unfenced_now;
    next_look_due_ = s_.now() + full_look_period;
    auto last_at = last_hop_.begin();  // walked beside the entries: both in destination order
    for (const route_entry_record& e : entries) {
      if (e.available_at > s_.now()) next_look_due_ = std::min(next_look_due_, e.available_at);
      if (e.gone_at && *e.gone_at > s_.now()) next_look_due_ = std::min(next_look_due_, *e.gone_at);
      if (e.system) continue;
      while (last_at != last_hop_.end() && last_at->first < e.destination)
        ++last_at;
      if (last_at == last_hop_.end() || last_at->first != e.destination)
        last_at = last_hop_.emplace_hint(last_at, e.destination, followed_hop());
      auto& last = last_at->second;
      const bool same_hop = last.id == e.next_hop_id;
      if (!last.id.empty() && !same_hop) {
        auto& changes = hop_changes_[e.destination];
        changes.push_back(s_.now());
        while (!changes.empty() && s_.now() - changes.front() > std::chrono::hours(1))
          changes.pop_front();
        if (changes.size() > 2)
          note("flapping: the route " + e.destination.to_string() + " changed next hop " +
               std::to_string(changes.size()) + " times within an hour (now " + e.next_hop_id +
               ", was " + last.id + ")");
      }
      if (!same_hop || (!last.node && last.nodes_seen != c_.nodes().size())) {
        last.id = e.next_hop_id;
        last.node = node_by_id(e.next_hop_id);
        last.nodes_seen = c_.nodes().size();
      }
      if (is_running(last.node) && !held_by(e.destination, e.next_hop_id))
        unfenced_now.emplace(std::pair{e.destination, e.next_hop_id},
                             "fencing: the route " + e.destination.to_string() + " points at " +
                                 e.next_hop_id + ", which holds no lease on it, for over " +
                                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                    sc_.stale_route_grace)
                                                    .count()) +
                                 " s");
    }
    // Ready only with a lease etcd still holds for this node.
    std::map<std::string, std::string> without_now;
    for (auto& [subnet, n] : ready)
      if (!held_by(subnet, n->instance_id))
        without_now.emplace(n->instance_id, "ready without a lease: " + n->instance_id +
                                                " is ready but etcd holds no lease of it on " +
                                                subnet.to_string());
    track(unfenced_, std::move(unfenced_now));
    track(ready_without_lease_, std::move(without_now));
    age_episodes();
  }

  // Subnet -> instance id (etcd's record), in subnet order; made again only when etcd's keys
  // changed (the views stay valid until then), or at every look when looking every second (the
  // reference the tests compare with). From etcd's array of leases, not its map of keys: in a
  // mass join the keys change every second, and the map's walk was about half of this (perf).
  const std::vector<std::pair<net::ipv4_cidr, std::string_view>>& leased_by_subnet() {
    if (!look_every_second_ && leased_at_ == etcd_.changes()) return leased_;
    leased_at_ = etcd_.changes();
    leased_.clear();
    for (auto& [key, l] : etcd_.leases_in_key_order())
      leased_.emplace_back(l.subnet, l.attrs.backend_data.instance_id());
    // Stable: of two keys for one subnet (a dual-stack key beside the plain one) the last in key
    // order is the holder, as a map filled in that order would say.
    std::stable_sort(leased_.begin(), leased_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    return leased_;
  }

  // The node whose instance id this is (ids are unique and never change, and nodes are only
  // added), or null. Asked only when an entry's next hop is new to the checker: the node is kept
  // beside it (last_hop_), because a lookup for every entry of the table at every look was about
  // a quarter of a look's time during a mass join (perf).
  const cluster::node* node_by_id(std::string_view id) {
    if (by_id_.size() != c_.nodes().size()) {
      by_id_.clear();
      by_id_.reserve(c_.nodes().size());
      for (auto& n : c_.nodes())
        by_id_.emplace(n->instance_id, n.get());
    }
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }

  // Everything look() reads, as text (for verify_skips only).
  std::string fingerprint() {
    std::string fp;
    for (auto& [key, e] : etcd_.keys())
      fp += key + "=" + std::string(e.instance_id()) + ";";
    fp += "|";
    for (auto& n : c_.nodes()) {
      fp += n->instance_id + (n->running ? "+" : "-") + (n->finished ? "f" : "") +
            (n->backend ? "b" : "");
      if (n->backend && n->backend->status().ready) fp += "r";
      if (n->backend && n->backend->status().current_lease)
        fp += n->backend->status().current_lease->subnet.to_string();
      fp += ";";
    }
    fp += "|";
    model_.for_each_entry(table_, s_.now(), [&](const route_entry_record& e) {
      fp += e.destination.to_string() + ">" + e.next_hop_id +
            std::string(to_api_string(e.status(s_.now()))) + ";";
    });
    return fp;
  }

  // Episodes end when their condition is gone; new ones begin; all take the latest wording.
  template <class Key>
  static void track(std::map<Key, episode>& open, std::map<Key, std::string>&& now) {
    std::erase_if(open, [&](auto& kv) { return !now.count(kv.first); });
    for (auto& [key, what] : now)
      open[key].what = std::move(what);
  }

  const scenario& sc_;
  virtual_scheduler& s_;
  vpc_model& model_;
  memory_etcd<virtual_scheduler>& etcd_;
  cluster& c_;
  std::string table_;  // safety is judged on the VPC's system table
  scenario_report& r_;
  bool look_every_second_, verify_skips_;

  bool seen_ = false;
  inputs seen_inputs_;
  std::uint64_t looks_ = 0;
  std::string looked_at_;           // the last look's fingerprint (verify_skips)
  std::set<std::string> overlaps_;  // overlapping leases / ready nodes at the last look
  std::unordered_map<std::string_view, const cluster::node*> by_id_;    // node_by_id()
  std::vector<std::pair<net::ipv4_cidr, std::string_view>> leased_;     // leased_by_subnet()
  std::optional<std::uint64_t> leased_at_;                              // etcd's changes() then
  std::map<std::pair<net::ipv4_cidr, std::string>, episode> unfenced_;  // (S, N)
  std::map<std::string, episode> ready_without_lease_;                  // N
  // An entry's last next hop, and the node that is (null: none of the first nodes_seen nodes;
  // a later node may be, so it is asked again when nodes were added).
  struct followed_hop {
    std::string id;
    const cluster::node* node = nullptr;
    std::size_t nodes_seen = 0;
  };
  std::map<net::ipv4_cidr, followed_hop> last_hop_;               // S -> last next hop
  std::map<net::ipv4_cidr, std::deque<time_point>> hop_changes_;  // S -> within the hour
  std::uint64_t misrouted_step_ = 0;  // misrouted nodes in the last look
  time_point next_look_due_{};        // a Pending/Deleting end, or the periodic sweep
};

}  // namespace alivpc::sim
