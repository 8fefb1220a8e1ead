// Leader mode (route_writer::leader): one route leader, elected through etcd, writes every
// node's VPC route, and the other nodes make no cloud write at all.
//
// Election: the key <prefix>/alivpc/route-leader bound to a TTL (lease::route_coordination).
// A candidate campaigns every third of the TTL; a dead leader's key ends with its TTL, so
// leadership changes hands within one TTL. Fencing: before every write batch the leader renews
// the key (which fails once it is not ours) and writes only within half a TTL of that renewal's
// start; past that it steps down. A partitioned old leader therefore stops writing before its
// key can have expired and another can lead.
//
// Each pass (on a lease change, after batch_window; and every reconcile period): list every
// table, and the leases when the lease watch says the last listing is not current (lease_view),
// then one write batch of at most 50 entries across the tables (the VPC takes one write at a
// time): deletes first (wrong next hops, stale routes), else creates.
// A duplicate is never success by itself: the next pass lists the table and sees whose entry it
// is. Stale routes: Custom entries inside the Network, next hop an instance or ENI, whose subnet
// has had no live lease (nor reservation) for stale_route_grace. Quota: entries used and the
// quota per table (a flag, or learned from QuotaExceeded); a create that must fail is never
// sent, collection frees space first, and the subnets that wait are named in one error.
// The state of each route is published under <prefix>/alivpc/routes/<subnet> as
// {"next_hop": id, "tables": {table: "Available" | "Pending" | "Missing"}}; route_follower
// reads it, and watches it once ready.
#pragma once

#include <alivpc/backend/detail/backend_context.hpp>
#include <alivpc/cloud/route_api.hpp>
#include <alivpc/lease/route_coordination.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace alivpc::backend {

// What a route state key says (the leader writes it, a follower reads it).
struct published_route {
  std::string next_hop;
  std::map<std::string, std::string> tables;  // table id -> "Available" | "Pending" | "Missing"
  bool operator==(const published_route&) const = default;
  bool available_everywhere() const {
    return !tables.empty() && std::all_of(tables.begin(), tables.end(),
                                          [](auto& t) { return t.second == "Available"; });
  }
  std::string to_json() const {
    return nlohmann::json{{"next_hop", next_hop}, {"tables", tables}}.dump();
  }
  // nullopt for anything that is not such a document (never trust a key's shape).
  static std::optional<published_route> parse(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("next_hop") || !j["next_hop"].is_string() ||
        !j.contains("tables") || !j["tables"].is_object())
      return std::nullopt;
    published_route p;
    p.next_hop = j["next_hop"].get<std::string>();
    for (auto& [t, v] : j["tables"].items()) {
      if (!v.is_string()) return std::nullopt;
      p.tables[t] = v.get<std::string>();
    }
    return p;
  }
};

template <lease::lease_store Store, cloud::cloud_route_api Cloud, netlink::host_network Host,
          scheduler Sched>
requires lease::route_coordination<Store>
class route_leader {
 public:
  explicit route_leader(detail::backend_context<Store, Cloud, Host, Sched>& ctx)
      : ctx_(ctx), changed_(ctx.sched) {}

  // Campaigns, leads while it can, campaigns again; returns after stop().
  task<void> run() {
    auto& sched = ctx_.sched;
    holder_ = ctx_.identity.instance_id + " " + nonce();
    auto retry = ctx_.error_backoff();
    while (!ctx_.stopping) {
      std::optional<error> failure;
      try {
        const auto ttl = ctx_.opts.leader_ttl;
        auto won = co_await ctx_.store.campaign(holder_, ttl);
        if (won) {
          term_ = *won;
          confirmed_from_ = sched.now();
          retry.reset();
          co_await lead();
        }
      } catch (const error& e) {
        if (e.kind() == error_kind::cancelled) throw;
        failure = e;
      }
      step_down();
      if (failure) ctx_.note_error("route leader", *failure);
      if (ctx_.stopping) break;
      const auto wait =
          failure ? retry.next(sched.random()) : ctx_.jittered(ctx_.opts.leader_ttl / 3);
      co_await ctx_.wake.wait_until(sched.now() + wait);
    }
    if (term_) {  // give it up at once rather than make the others wait a TTL
      try {
        auto t = *term_;
        co_await ctx_.store.resign(t);
      } catch (const error&) {
      }
      term_.reset();
    }
  }

 private:
  using clock_duration = alivpc::clock_duration;
  struct table_view {
    std::vector<cloud::route_entry> entries;
    std::size_t custom = 0;
  };
  // A live lease's route: where it should point.
  struct wanted_route {
    net::ipv4_cidr subnet;
    std::string hop;   // the instance (or ENI) id
    std::string type;  // NextHopType: "Instance" unless the lease says otherwise
  };
  // A create the cloud refused as a wrong request. The usual one: a node's instance is released
  // (InvalidInstanceId.NotFound) before its route was made, while its lease lives on until its
  // TTL. Sent every busy pass, such a create would fail about once a second for as long as the
  // lease lives, and take a free slot of a full table from a node that could use it. It waits
  // out the error backoff instead (up to error_backoff_max), and is forgotten when the lease
  // goes or names another next hop.
  struct refused_create {
    std::string table, hop;
    backoff retry;
    time_point until;  // set aside until then
  };
  static net::ipv4_cidr subnet_of(const wanted_route& w) { return w.subnet; }
  static net::ipv4_cidr subnet_of(net::ipv4_cidr c) { return c; }
  // A route's state in one table, as published_route names it.
  enum class table_state : std::uint8_t { missing, pending, available };
  static std::string_view name_of(table_state s) {
    switch (s) {
      case table_state::pending:
        return "Pending";
      case table_state::available:
        return "Available";
      case table_state::missing:
        break;
    }
    return "Missing";
  }

  task<void> lead() {
    auto& st = ctx_.status;
    st.route_leader = true;
    ++st.leader_terms;
    ctx_.log.info("route leader now (" + holder_ + ")");
    published_.clear();
    last_publish_ = {};
    leases_.reset();
    // A route seen unleased in an earlier term may have been leased again and lost again since:
    // each term observes afresh, and a stale route's grace starts at this term's first sight.
    unleased_since_.clear();
    {
      // What is there (a key that is not such a document reads as an empty state: rewritten).
      auto states = co_await ctx_.store.route_states();
      for (auto& [subnet, text] : states)
        published_[subnet] = published_route::parse(text).value_or(published_route{});
    }
    spawn_watch();
    auto next_pass = ctx_.sched.now();
    while (!ctx_.stopping && term_) {
      if (dirty_ || ctx_.sched.now() >= next_pass) {
        const bool busy = co_await pass();
        if (!term_ || ctx_.stopping) break;
        next_pass = ctx_.sched.now() + (busy ? clock_duration(ctx_.opts.route_poll_first)
                                             : clock_duration(ctx_.opts.reconcile_period));
        next_pass = std::min(next_pass, revisit_at_);
      }
      // Renew well inside the TTL even when there is nothing to write.
      const auto renew_by = confirmed_from_ + ctx_.opts.leader_ttl / 3;
      if (!dirty_) co_await changed_.wait_until(std::min(next_pass, renew_by));
      if (dirty_ && !ctx_.stopping) {  // gather what follows the first change
        const auto gather = ctx_.sched.now() + ctx_.opts.batch_window;
        co_await ctx_.wake.wait_until(gather);
      }
      if (ctx_.sched.now() >= renew_by && !co_await confirm()) break;
    }
    ctx_.log.info("route leader no more");
  }

  // Renews the key; true while we may write (within half a TTL of a renewal's start).
  task<bool> confirm() {
    const auto start = ctx_.sched.now();
    try {
      auto t = *term_;
      const auto ttl = ctx_.opts.leader_ttl;
      auto renewed = co_await ctx_.store.renew_leadership(t, ttl);
      term_ = renewed;
      confirmed_from_ = start;
    } catch (const error& e) {
      if (e.kind() == error_kind::cancelled) throw;
      if (e.kind() == error_kind::not_found) {
        ctx_.log.warn(std::string("lost route leadership: ") + e.what());
        term_.reset();
        co_return false;
      }
      ctx_.note_error("confirm route leadership", e);
    }
    if (ctx_.sched.now() - confirmed_from_ >= ctx_.opts.leader_ttl / 2) {
      ctx_.log.warn("could not confirm route leadership within half its TTL: stepping down");
      term_.reset();
      co_return false;
    }
    co_return true;
  }
  bool may_write() const {
    return term_ && ctx_.sched.now() - confirmed_from_ < ctx_.opts.leader_ttl / 2;
  }
  void step_down() {
    ctx_.status.route_leader = false;
    watch_generation_++;
    changed_.notify();
  }

  // Lease changes wake the leader (a join is programmed after batch_window, not a period), and
  // tell the pass when the leases it listed last are no longer the leases (see lease_view).
  void spawn_watch() {
    const auto generation = ++watch_generation_;
    watch_current_ = false;
    relist_ = false;
    changed_at_revision_ = 0;  // this watch's own listing sets it
    spawn(ctx_.sched, watch(generation), [](const std::exception_ptr&) {});
  }
  task<void> watch(std::uint64_t generation) {
    std::int64_t revision = 0;  // 0: list first (a watch from 0 would replay all history)
    lease::store_tracker store;
    auto retry = ctx_.error_backoff();
    const auto changed_up_to = [&](std::int64_t r) {
      changed_at_revision_ = std::max(changed_at_revision_, r);
      dirty_ = true;
      changed_.notify();
    };
    while (!ctx_.stopping && generation == watch_generation_) {
      bool failed = false;
      try {
        if (revision == 0) {
          auto list = co_await ctx_.store.list_leases();
          if (generation != watch_generation_) co_return;
          // What changed before this listing is not delivered as events: a view listed earlier
          // is not current.
          revision = list.revision;
          store.note(list.store);
          watch_current_ = true;
          changed_up_to(list.revision);
          continue;
        }
        auto r = co_await ctx_.store.watch_leases(revision);
        if (generation != watch_generation_) co_return;
        // Another etcd answered (rebuilt or restored: its revisions are not the history we
        // follow, and a watch from ours may wait past its changes): list again.
        if (!store.note(r.store).empty()) {
          revision = 0;
          watch_current_ = false;
          relist_ = true;  // the last listing's revision says nothing about this etcd's
          changed_up_to(0);
          continue;
        }
        revision = r.resynced ? r.revision : std::max(revision, r.revision);
        retry.reset();
        watch_current_ = true;
        if (!r.events.empty() || r.resynced) changed_up_to(r.revision);
      } catch (const error& e) {
        if (e.kind() == error_kind::cancelled) co_return;
        failed = true;
      }
      if (failed) {
        if (generation != watch_generation_) co_return;
        watch_current_ = false;  // changes may go unheard until a round succeeds again
        co_await ctx_.wake.wait_until(ctx_.sched.now() + retry.next(ctx_.sched.random()));
      }
    }
  }

  // The leases as a pass needs them, from one listing. A pass lists again only when the watch
  // has delivered a change past that listing's revision, has not been current since (a failed
  // round, another etcd), or the listing is lease_relist_period old; at rest the leader of
  // 5,000 nodes no longer reads every lease every reconcile period. A change is judged by its
  // revision, so one that a listing from a lagging member missed still makes the next pass
  // list again. The periodic listing is a safety net under the watch, as an informer's resync.
  struct lease_view {
    std::vector<wanted_route> wanted;      // live leases by subnet (the last key of a subnet)
    std::vector<std::string> leased_hops;  // instances that hold a live lease, sorted
    std::vector<net::ipv4_cidr> reserved;  // reservations, sorted
    std::int64_t revision = 0;             // the listing's
    time_point listed_at{};
  };
  static constexpr auto lease_relist_period = std::chrono::hours(1);

  bool lease_view_current() const {
    return leases_ && watch_current_ && !relist_ && changed_at_revision_ <= leases_->revision &&
           ctx_.sched.now() - leases_->listed_at < lease_relist_period;
  }

  static lease_view view_of(lease::lease_list leases, time_point now) {
    lease_view v;
    v.revision = leases.revision;
    v.listed_at = now;
    auto& wanted = v.wanted;
    wanted.reserve(leases.leases.size());
    for (auto& l : leases.leases) {
      if (l.is_reservation()) v.reserved.push_back(l.subnet);
      auto id = lease::lease_instance_id(l.attrs);
      if (id.empty()) continue;
      auto type = l.attrs.backend_data.next_hop_type();
      wanted.push_back(
          {l.subnet, std::move(id), type.empty() ? std::string("Instance") : std::string(type)});
    }
    v.leased_hops.reserve(wanted.size());
    for (auto& w : wanted)
      v.leased_hops.push_back(w.hop);
    std::sort(v.leased_hops.begin(), v.leased_hops.end());
    std::sort(v.reserved.begin(), v.reserved.end());
    // Of two keys for one subnet (a dual-stack key beside a plain one), the later one listed
    // stands, as a map assignment would.
    std::stable_sort(
        wanted.begin(), wanted.end(),
        [](const wanted_route& a, const wanted_route& b) { return a.subnet < b.subnet; });
    std::vector<wanted_route> last_of_each;
    last_of_each.reserve(wanted.size());
    for (std::size_t i = 0; i < wanted.size(); ++i)
      if (i + 1 == wanted.size() || wanted[i + 1].subnet != wanted[i].subnet)
        last_of_each.push_back(std::move(wanted[i]));
    wanted = std::move(last_of_each);
    return v;
  }

  // One pass; true when a write is in flight or waiting (poll again soon).
  //
  // A pass at rest touches every route (5,000 in a full table, every reconcile period), and
  // every lease when it lists them: it keeps them in sorted vectors, one record per subnet, not
  // in maps and sets of strings (a node allocation, or three, for each subnet and each pass).
  task<bool> pass() {
    dirty_ = false;
    revisit_at_ = time_point::max();
    auto& st = ctx_.status;
    const auto network = *ctx_.cfg.network;
    if (!lease_view_current()) {
      relist_ = false;
      try {
        auto listed = co_await ctx_.store.list_leases();
        leases_ = view_of(std::move(listed), ctx_.sched.now());
        ++view_generation_;
      } catch (const error& e) {
        if (e.kind() == error_kind::cancelled) throw;
        ctx_.note_error("route leader: list leases", e);
        co_return false;
      }
    }
    // Only pass() replaces leases_, so these stay as they are across the awaits below.
    const auto& wanted = leases_->wanted;
    const auto& leased_hops = leases_->leased_hops;
    const auto& reserved = leases_->reserved;
    auto wanted_at = [&](net::ipv4_cidr subnet) -> std::ptrdiff_t {
      auto it =
          std::lower_bound(wanted.begin(), wanted.end(), subnet,
                           [](const wanted_route& w, net::ipv4_cidr c) { return w.subnet < c; });
      return it != wanted.end() && it->subnet == subnet ? it - wanted.begin() : -1;
    };

    std::map<std::string, table_view> tables;
    for (auto& t : ctx_.tables) {
      try {
        const cloud::route_entry_filter whole;
        auto entries = co_await ctx_.cloud.list_route_entries(t, whole);
        auto& view = tables[t];
        for (auto& e : entries)
          if (e.type == cloud::route_entry_type::custom) ++view.custom;
        view.entries = std::move(entries);
      } catch (const error& e) {
        if (e.kind() == error_kind::cancelled) throw;
        ctx_.note_error("route leader: list route table " + t, e);
        co_return true;
      }
    }

    // What each table should lose and gain; states[i * tables.size() + t] is wanted[i]'s route
    // in the t-th table.
    std::vector<cloud::route_spec> deletes, creates;
    std::vector<table_state> states(wanted.size() * tables.size(), table_state::missing);
    std::vector<std::string_view> table_ids;  // the tables in order
    std::vector<std::string> waiting;         // subnets a full table holds up
    bool in_flight = false;
    const auto now = ctx_.sched.now();
    const auto grace = ctx_.opts.stale_route_grace.count() > 0
                           ? clock_duration(ctx_.opts.stale_route_grace)
                           : clock_duration(2 * ctx_.opts.reconcile_period);
    std::set<std::pair<std::string, net::ipv4_cidr>> unleased_now;
    for (auto& [table, view] : tables) {
      const std::size_t t = table_ids.size();
      table_ids.push_back(table);
      std::vector<bool> present(wanted.size());
      for (auto& e : view.entries) {
        if (e.type != cloud::route_entry_type::custom || !network.contains(e.destination)) continue;
        const bool settling = e.status != cloud::route_entry_status::available;
        in_flight |= settling;
        if (const auto i = wanted_at(e.destination); i >= 0) {
          present[static_cast<std::size_t>(i)] = true;
          auto& state = states[static_cast<std::size_t>(i) * tables.size() + t];
          if (e.next_hop_id == wanted[static_cast<std::size_t>(i)].hop) {
            state = settling ? table_state::pending : table_state::available;
            continue;
          }
          state = table_state::missing;
          if (!settling && ours_to_touch(e)) deletes.push_back(spec_of(e));
          continue;
        }
        // No live lease on this subnet: stale once the grace has passed. When its next hop holds
        // a lease on another subnet now, that node lost this one and moved on: it will not come
        // back for it, so the self-writing node's lost_route_hold applies, not the long grace
        // that waits for a node that may return.
        if (!ours_to_touch(e) ||
            std::binary_search(reserved.begin(), reserved.end(), e.destination))
          continue;
        unleased_now.emplace(table, e.destination);
        auto [first, fresh] = unleased_since_.try_emplace({table, e.destination}, now);
        const auto hold = std::binary_search(leased_hops.begin(), leased_hops.end(), e.next_hop_id)
                              ? std::min(grace, clock_duration(ctx_.opts.lost_route_hold))
                              : grace;
        if (now - first->second < hold) {
          revisit_at_ = std::min(revisit_at_, first->second + hold);  // a pass then, not later
          continue;
        }
        if (settling) continue;
        if (ctx_.opts.collect_dry_run) {
          if (fresh || !dry_run_said_.count({table, e.destination}))
            ctx_.log.info("dry run: would delete the stale route " + e.destination.to_string() +
                          " -> " + e.next_hop_id + " in " + table);
          dry_run_said_.insert({table, e.destination});
          continue;
        }
        deletes.push_back(spec_of(e));
      }
      std::erase_if(unleased_since_, [&, &id = table](auto& kv) {  // (a binding: named)
        return kv.first.first == id && !unleased_now.count(kv.first);
      });
      auto& usage = st.tables[table];
      usage.entries = view.custom;
      if (!usage.quota) usage.quota = ctx_.opts.route_table_quota;
      if (learned_quota_.count(table)) usage.quota = learned_quota_[table];
      std::size_t free = usage.quota == 0
                             ? max_creates_
                             : (usage.quota > view.custom ? usage.quota - view.custom : 0);
      for (std::size_t i = 0; i < wanted.size(); ++i) {
        if (present[i]) continue;
        const auto& w = wanted[i];
        if (set_aside(table, w, now)) continue;  // neither sent nor counted against free
        if (free == 0) {
          waiting.push_back(w.subnet.to_string());
          continue;
        }
        --free;
        cloud::route_spec s{table, w.subnet, w.type, w.hop};
        s.name = "alivpc:" + w.subnet.to_string();
        s.description = "flannel lease " + w.subnet.to_string() + " (alivpc route leader)";
        creates.push_back(std::move(s));
      }
      if (usage.quota && usage.entries * 5 >= usage.quota * 4 && !warned_full_[table]) {
        ctx_.log.warn("route table " + table + " holds " + std::to_string(usage.entries) + " of " +
                      std::to_string(usage.quota) + " custom entries (80% or more)");
        warned_full_[table] = true;
      } else if (usage.quota && usage.entries * 5 < usage.quota * 4) {
        warned_full_[table] = false;
      }
    }
    if (!waiting.empty() && deletes.empty()) {
      std::sort(waiting.begin(), waiting.end());
      waiting.erase(std::unique(waiting.begin(), waiting.end()), waiting.end());
      std::string list;
      for (std::size_t i = 0; i < waiting.size() && i < 20; ++i)
        list += (i ? ", " : "") + waiting[i];
      if (waiting.size() > 20) list += ", ...";
      ctx_.note_error("route leader", error(error_kind::permanent,
                                            "route table full: " + std::to_string(waiting.size()) +
                                                " subnet(s) wait for a free entry: " + list +
                                                " (raise the route entry quota, or remove nodes)"));
    }

    forget_refusals_of_gone_leases(wanted_at);
    co_await publish(wanted, table_ids, states);
    if (in_flight) co_return true;  // the VPC takes one write at a time
    auto& batch = deletes.empty() ? creates : deletes;
    if (batch.empty()) co_return false;
    if (batch.size() > cloud::max_routes_per_batch) {
      batch.resize(cloud::max_routes_per_batch);
      dirty_ = true;  // the rest in the next pass
    }
    if (!co_await confirm()) co_return false;
    co_await write(batch, &batch == &deletes);
    co_return true;
  }

  // Only entries we could have made: an instance or ENI next hop.
  static bool ours_to_touch(const cloud::route_entry& e) {
    return (e.next_hop_type == "Instance" || e.next_hop_type == "NetworkInterface") &&
           e.destination.prefix_length() != 0;
  }
  static cloud::route_spec spec_of(const cloud::route_entry& e) {
    cloud::route_spec s{e.route_table_id, e.destination, e.next_hop_type, e.next_hop_id};
    s.route_entry_id = e.route_entry_id;
    return s;
  }

  task<void> write(std::vector<cloud::route_spec> batch, bool deleting) {
    if (!may_write()) co_return;
    try {
      if constexpr (cloud::batch_route_api<Cloud>) {
        if (!batch_refused_) {
          cloud::route_batch_result result;
          if (deleting)
            result = co_await ctx_.cloud.delete_route_entries(batch);
          else
            result = co_await ctx_.cloud.create_route_entries(batch);
          judge(result, deleting);
          co_return;
        }
      }
      for (auto& s : batch) {  // one at a time: a cloud without batches
        if (!may_write()) co_return;
        std::optional<cloud::api_error> wrong;  // this create is refused; the next may go
        try {
          if (deleting)
            co_await ctx_.cloud.delete_route_entry(s);
          else
            co_await ctx_.cloud.create_route_entry(s);
        } catch (const cloud::api_error& e) {
          if (deleting || e.error_class() != cloud::api_error_class::bad_request) throw;
          wrong = e;
        }
        if (wrong) {
          refused(s, deleting, wrong->code() + " " + wrong->api_message(), wrong->error_class());
          continue;
        }
        note_written(s, deleting);
      }
    } catch (const error& e) {
      if (e.kind() == error_kind::cancelled) throw;
      // The batch action itself refused (an API flavour or endpoint without it): single calls
      // from now on.
      auto* api = dynamic_cast<const cloud::api_error*>(&e);
      if (!batch_refused_ && (e.kind() == error_kind::invalid_argument ||
                              (api && api->code() == "InvalidAction.NotFound"))) {
        batch_refused_ = true;
        ctx_.log.warn(std::string("batch route writes refused, writing one by one: ") + e.what());
      }
      if (e.kind() == error_kind::exhausted) learn_quota(batch);
      ctx_.note_error(deleting ? "route leader: delete routes" : "route leader: create routes", e);
    }
  }

  void judge(const cloud::route_batch_result& result, bool deleting) {
    for (auto& item : result.items) {
      if (item.accepted()) {
        note_written(item.route, deleting);
        continue;
      }
      switch (item.failure_class()) {
        case cloud::api_error_class::not_found:  // on delete: already gone
        case cloud::api_error_class::conflict:   // Pending or Deleting: the next pass looks
        case cloud::api_error_class::duplicate:  // the next pass lists whose entry it is
          break;
        case cloud::api_error_class::quota:
          learn_quota({item.route});
          [[fallthrough]];
        default:
          refused(item.route, deleting, item.failure_code + " " + item.failure_message,
                  item.failure_class());
      }
    }
  }

  // Counts and names a write the cloud refused. A create refused as a wrong request is set
  // aside for the error backoff (refused_create); anything else is tried again by the next pass.
  void refused(const cloud::route_spec& route, bool deleting, const std::string& why,
               cloud::api_error_class kind) {
    auto& st = ctx_.status;
    ++st.errors;
    st.last_error = "route leader: " + std::string(deleting ? "delete " : "create ") +
                    route.destination.to_string() + " -> " + route.next_hop_id + " in " +
                    route.route_table_id + ": " + why;
    if (deleting || kind != cloud::api_error_class::bad_request) {
      ctx_.log.error(st.last_error + " (will retry)");
      return;
    }
    auto* r = find_refusal(route.route_table_id, route.destination, route.next_hop_id);
    if (!r)
      r = &refused_
               .emplace(route.destination,
                        refused_create{
                            route.route_table_id, route.next_hop_id, ctx_.error_backoff(), {}})
               ->second;
    const auto wait = r->retry.next(ctx_.sched.random());
    r->until = ctx_.sched.now() + wait;
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
    ctx_.log.error(st.last_error + " (tried again in " + std::to_string(seconds) +
                   " s, or at once if its lease names another instance)");
  }

  refused_create* find_refusal(std::string_view table, net::ipv4_cidr subnet,
                               std::string_view hop) {
    for (auto [it, end] = refused_.equal_range(subnet); it != end; ++it)
      if (it->second.table == table && it->second.hop == hop) return &it->second;
    return nullptr;
  }
  // True while the cloud's refusal of this create holds (then the pass comes back when it ends).
  bool set_aside(std::string_view table, const wanted_route& w, time_point now) {
    if (refused_.empty()) return false;
    auto* r = find_refusal(table, w.subnet, w.hop);
    if (!r || now >= r->until) return false;
    revisit_at_ = std::min(revisit_at_, r->until);
    return true;
  }
  // A refusal is of one lease's route: it goes with the lease (or its next hop).
  template <class WantedAt>
  void forget_refusals_of_gone_leases(const WantedAt& wanted_at) {
    if (refused_.empty()) return;
    const auto& wanted = leases_->wanted;
    std::erase_if(refused_, [&](const auto& kv) {
      const auto i = wanted_at(kv.first);
      return i < 0 || wanted[static_cast<std::size_t>(i)].hop != kv.second.hop;
    });
  }

  void note_written(const cloud::route_spec& s, bool deleting) {
    if (!deleting) {
      ++ctx_.status.route_creates;
      if (auto* r = find_refusal(s.route_table_id, s.destination, s.next_hop_id)) {
        r->until = {};  // through at last: a later refusal waits from the start
        r->retry.reset();
      }
      return;
    }
    ++ctx_.status.route_deletes;
    if (unleased_since_.count({s.route_table_id, s.destination})) {
      ++ctx_.status.stale_routes_collected;
      ctx_.log.info("collected the stale route " + s.destination.to_string() + " -> " +
                    s.next_hop_id + " in " + s.route_table_id);
    }
  }

  // A QuotaExceeded answer says the table is full as it stands: that is its quota.
  void learn_quota(const std::vector<cloud::route_spec>& refused) {
    for (auto& s : refused) {
      auto& usage = ctx_.status.tables[s.route_table_id];
      if (usage.entries > 0 && learned_quota_[s.route_table_id] != usage.entries) {
        learned_quota_[s.route_table_id] = usage.entries;
        ctx_.log.warn("route table " + s.route_table_id + " is full at " +
                      std::to_string(usage.entries) +
                      " custom entries (learned from QuotaExceeded)");
      }
    }
  }

  // Route states that changed since published (as pass() has them); ones of subnets without a
  // lease go. Compared in place: a pass at rest publishes nothing and builds no document. When
  // the last publish went through whole, from the same listing of the leases to the same states
  // in the same tables, there is nothing to compare (the usual pass at rest).
  task<void> publish(const std::vector<wanted_route>& wanted,
                     const std::vector<std::string_view>& table_ids,
                     const std::vector<table_state>& states) {
    if (!may_write()) co_return;
    auto& last = last_publish_;
    if (last.whole && last.view == view_generation_ && last.states == states &&
        std::equal(table_ids.begin(), table_ids.end(), last.tables.begin(), last.tables.end()))
      co_return;
    last.whole = false;
    try {
      const auto state_of = [&](std::size_t i, std::size_t t) {
        return name_of(states[i * table_ids.size() + t]);
      };
      const auto unchanged = [&](const published_route& p, std::size_t i) {
        if (p.next_hop != wanted[i].hop || p.tables.size() != table_ids.size()) return false;
        std::size_t t = 0;  // both in table id order
        for (const auto& [id, state] : p.tables)
          if (id != table_ids[t] || state != state_of(i, t++)) return false;
        return true;
      };
      for (std::size_t i = 0; i < wanted.size(); ++i) {
        const auto subnet = wanted[i].subnet;
        auto it = published_.find(subnet);
        if (it != published_.end() && unchanged(it->second, i)) continue;
        published_route doc{wanted[i].hop, {}};
        for (std::size_t t = 0; t < table_ids.size(); ++t)
          doc.tables.emplace(table_ids[t], state_of(i, t));
        co_await ctx_.store.put_route_state(subnet, doc.to_json());
        published_[subnet] = std::move(doc);
      }
      std::vector<net::ipv4_cidr> gone;
      for (auto& [subnet, text] : published_)
        if (!std::binary_search(
                wanted.begin(), wanted.end(), subnet,
                [](const auto& a, const auto& b) { return subnet_of(a) < subnet_of(b); }))
          gone.push_back(subnet);
      for (auto& subnet : gone) {
        co_await ctx_.store.delete_route_state(subnet);
        published_.erase(subnet);
      }
      last = {true, view_generation_, states, {table_ids.begin(), table_ids.end()}};
    } catch (const error& e) {
      if (e.kind() == error_kind::cancelled) throw;
      ctx_.note_error("route leader: publish route states", e);
    }
  }

  std::string nonce() {
    static constexpr char hex[] = "0123456789abcdef";
    std::string n;
    for (int i = 0; i < 12; ++i)
      n += hex[ctx_.sched.random().below(16)];
    return n;
  }

  static constexpr std::size_t max_creates_ = 1u << 20;  // quota unknown: no limit of ours
  detail::backend_context<Store, Cloud, Host, Sched>& ctx_;
  async_event<Sched> changed_;  // a lease changed, or leadership ended
  std::string holder_;
  std::optional<lease::leadership> term_;
  time_point confirmed_from_{};
  bool dirty_ = true;
  bool batch_refused_ = false;
  std::uint64_t watch_generation_ = 0;
  std::optional<lease_view> leases_;      // the last listing, as pass() uses it
  std::int64_t changed_at_revision_ = 0;  // the newest lease change the watch has seen
  bool watch_current_ = false;            // the watch's last round succeeded: nothing missed
  bool relist_ = false;                   // another etcd answered the watch since the listing
  std::map<net::ipv4_cidr, published_route> published_;
  std::uint64_t view_generation_ = 0;  // counts the listings that became leases_
  struct publish_record {
    bool whole = false;  // every state in published_ was written, and every gone one deleted
    std::uint64_t view = 0;
    std::vector<table_state> states;
    std::vector<std::string> tables;
  };
  publish_record last_publish_;  // what published_ was last made to match
  std::map<std::pair<std::string, net::ipv4_cidr>, time_point> unleased_since_;
  std::multimap<net::ipv4_cidr, refused_create> refused_;  // by subnet
  // The next time a pass has something to do besides the period: a stale route's grace ends, or
  // a refused create's wait.
  time_point revisit_at_ = time_point::max();
  std::set<std::pair<std::string, net::ipv4_cidr>> dry_run_said_;
  std::map<std::string, std::size_t> learned_quota_;
  std::map<std::string, bool> warned_full_;
};

}  // namespace alivpc::backend
