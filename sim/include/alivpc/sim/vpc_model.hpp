// A model of the parts of an Alibaba Cloud VPC that the route backend touches: regions, VPCs,
// VRouters, route tables and entries, vSwitches, ECS instances and their ENIs, with the service's
// rules (asynchronous Pending -> Available, one write at a time per VPC, quota, reserved
// destinations), rate limits, latency, injected faults and counters.
//
// The model owns no clock: every operation takes `now` (alivpc::time_point), and an entry's status
// is computed from the timestamps it carries. The same model runs under virtual_scheduler (the
// simulator) and in real time (alivpc-emulator). Failures are thrown as sim::api_failure with the
// real service's HTTP status, Code and Message.
#pragma once

#include <alivpc/net/ipv4.hpp>
#include <alivpc/runtime/prng.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/sim/api_error.hpp>
#include <alivpc/sim/vpc_policy.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace alivpc::sim {

struct model_config {
  std::size_t quota_per_table = 200;                // custom entries per route table
  clock_duration write_delay = milliseconds(1000);  // Pending -> Available, Deleting -> gone
  latency_distribution default_latency = latency_distribution::fixed(milliseconds(0));
  std::map<std::string, latency_distribution> latency;  // per action
  std::map<std::string, double> throttle_per_minute;    // action ("*" = each action) -> N per 60 s
  std::vector<fault_rule> faults;
  std::vector<outage> outages;
  // Actions this endpoint does not offer (InvalidAction.NotFound), as one of an older API
  // version or a gateway without the batch actions.
  std::set<std::string> missing_actions;
};

enum class entry_status { pending, available, deleting, gone };

inline const char* to_api_string(entry_status s) {
  switch (s) {
    case entry_status::pending:
      return "Pending";
    case entry_status::available:
      return "Available";
    case entry_status::deleting:
      return "Deleting";
    case entry_status::gone:
      return "Deleted";
  }
  return "Unknown";
}

struct route_entry_record {
  std::string id;  // rte-...
  std::string table_id;
  net::ipv4_cidr destination;
  bool system = false;
  std::string next_hop_type;  // "Instance", "NetworkInterface"; "local" for system entries
  std::string next_hop_id;
  time_point available_at{};
  std::optional<time_point> gone_at;  // set by a delete
  std::string name{};                 // RouteEntryName (batch creates set it)
  std::string description{};
  // This entry as a listing page writes it (openapi_service::listed_entry), in listed_status:
  // the status is all of an entry that changes once it exists, so the text is kept with it.
  mutable std::string listed_text{};
  mutable entry_status listed_status{};

  entry_status status(time_point now) const {
    if (gone_at) return now < *gone_at ? entry_status::deleting : entry_status::gone;
    return now < available_at ? entry_status::pending : entry_status::available;
  }
};

struct route_table_record {
  std::string id;
  std::string vrouter_id;
  std::string vpc_id;
  bool system = true;
  std::vector<std::string> vswitch_ids;  // bound vSwitches (custom tables)
  // Keyed by destination (network, prefix): destinations are unique per table.
  std::map<std::pair<std::uint32_t, int>, route_entry_record> entries;

  // The entries in key order, in one array, for the walk of a listing page (vpc_model::
  // for_each_entry_from): a step along the map is a load that waits for the one before, and
  // those were over a third of the emulator's time when a leader lists a 5,000-entry table every
  // reconcile period. Built from `entries` when the model's version is not `version`; a copy of
  // a table never carries it (its pointers are into the other table's map).
  struct key_order {
    std::vector<std::pair<std::pair<std::uint32_t, int>, const route_entry_record*>> order;
    std::uint64_t version = ~std::uint64_t{0};
    key_order() = default;
    key_order(const key_order&) {}
    key_order& operator=(const key_order&) {
      order.clear();
      version = ~std::uint64_t{0};
      return *this;
    }
  };
  mutable key_order in_order;
};

struct vswitch_record {
  std::string id;
  std::string vpc_id;
  std::string zone_id;
  net::ipv4_cidr cidr;
};

struct instance_record {
  std::string id;
  std::string region_id;
  std::string zone_id;
  std::string vpc_id;
  std::string vswitch_id;
  net::ipv4_address private_ip;
  std::string eni_id;  // primary ENI
  std::string mac;
};

struct vpc_record {
  std::string id;
  std::string region_id;
  net::ipv4_cidr cidr;
  std::string vrouter_id;
  std::string system_table_id;
  std::vector<std::string> table_ids;  // system first
  std::vector<std::string> vswitch_ids;
};

struct create_route_request {
  std::string route_table_id;
  std::string destination;  // text, validated by the model
  std::string next_hop_type = "Instance";
  std::string next_hop_id;
  std::string client_token;
};

struct delete_route_request {
  std::string route_table_id;
  std::string destination;
  std::string next_hop_id;     // optional filter
  std::string route_entry_id;  // alternative to table + destination
};

// ---- batch writes (CreateRouteEntries / DeleteRouteEntries) ----------------------------------

inline constexpr std::size_t max_batch_entries = 50;  // RouteEntries.N per call

// Per-entry failure codes of a batch (FailedRouteEntries[].FailedCode), as the service names
// them. Other per-entry failures carry the code a single write would get (QuotaExceeded,
// OperationDenied, InvalidInstanceId.NotFound, ...).
inline constexpr const char* entry_duplicate_code = "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE";
inline constexpr const char* entry_status_code = "VPC_ROUTE_ENTRY_STATUS_ERROR";
inline constexpr const char* entry_not_exist_code = "VPC_ROUTER_ENTRY_NOT_EXIST";

// One RouteEntries.N, as sent (text; the model validates it).
struct batch_route_entry {
  std::string route_table_id;
  std::string destination;       // DstCidrBlock
  std::string next_hop_type;     // create: "Instance" when empty
  std::string next_hop_id;       // NextHop (delete: optional, must match when given)
  std::string name{};            // create: stored on the entry
  std::string description{};     // create: stored on the entry
  std::string route_entry_id{};  // delete: the entry by id instead of by destination
};

struct batch_route_request {
  std::vector<batch_route_entry> entries;
  bool dry_run = false;  // validate and judge every entry, change nothing
};

// One FailedRouteEntries element.
struct batch_entry_failure {
  std::size_t index = 0;    // position in the request, from 0
  std::string destination;  // DstCidrBlock as sent (a delete by id: the entry's, when known)
  std::string next_hop_id;  // NextHop likewise
  std::string code;
  std::string message;
};

struct batch_route_result {
  std::size_t success_count = 0;             // dry run: entries that would succeed
  std::vector<std::string> route_entry_ids;  // created / deleted, in request order (not dry run)
  std::vector<batch_entry_failure> failed;   // in request order
};

// Counts of requests by action and outcome ("Success" or the error Code).
struct counters {
  std::map<std::string, std::map<std::string, std::uint64_t>> by_action;
  void record(const std::string& action, const std::string& outcome) {
    ++by_action[action][outcome];
  }
  std::uint64_t count(const std::string& action, const std::string& outcome) const {
    auto a = by_action.find(action);
    if (a == by_action.end()) return 0;
    auto o = a->second.find(outcome);
    return o == a->second.end() ? 0 : o->second;
  }
};

// The result of the service-side gate before an action runs.
enum class admission { proceed, drop, timeout };

class vpc_model {
 public:
  static constexpr const char* reserved_range = "100.64.0.0/10";

  explicit vpc_model(model_config cfg = {}, std::uint64_t seed = 0)
      : cfg_(std::move(cfg)), rng_(seed), id_rng_(seed ^ 0x1d5u) {}

  model_config& config() noexcept { return cfg_; }
  const model_config& config() const noexcept { return cfg_; }
  prng& random() noexcept { return rng_; }
  sim::counters& stats() noexcept { return counters_; }

  // ---- world building ------------------------------------------------------------------------

  // A VPC with its VRouter and system route table; empty ids are generated.
  const vpc_record& add_vpc(const std::string& region, net::ipv4_cidr cidr, std::string id = {},
                            std::string vrouter_id = {}, std::string system_table_id = {}) {
    if (id.empty()) id = new_id("vpc-");
    if (vrouter_id.empty()) vrouter_id = new_id("vrt-");
    if (system_table_id.empty()) system_table_id = new_id("vtb-");
    if (vpcs_.count(id) || tables_.count(system_table_id))
      fail(error_kind::invalid_argument,
           "VPC " + id + " or table " + system_table_id + " already exists");
    vpc_record v{id, region, cidr, vrouter_id, system_table_id, {}, {}};
    v.table_ids.push_back(v.system_table_id);
    route_table_record t{v.system_table_id, v.vrouter_id, id, true, {}, {}, {}};
    tables_.emplace(t.id, t);
    add_system_entry(v.system_table_id, net::ipv4_cidr::parse(reserved_range));
    regions_.insert(region);
    return vpcs_.emplace(id, std::move(v)).first->second;
  }

  const vswitch_record& add_vswitch(const std::string& vpc_id, const std::string& zone,
                                    net::ipv4_cidr cidr, std::string id = {}) {
    auto& v = vpc_ref(vpc_id);
    if (!v.cidr.contains(cidr))
      fail(error_kind::invalid_argument,
           "vSwitch " + cidr.to_string() + " is not inside VPC " + v.cidr.to_string());
    if (id.empty()) id = new_id("vsw-");
    if (vswitches_.count(id))
      fail(error_kind::invalid_argument, "vSwitch " + id + " already exists");
    v.vswitch_ids.push_back(id);
    add_system_entry(v.system_table_id, cidr);
    return vswitches_.emplace(id, vswitch_record{id, vpc_id, zone, cidr}).first->second;
  }

  const instance_record& add_instance(const std::string& id, const std::string& vswitch_id,
                                      net::ipv4_address ip) {
    auto vs = vswitches_.find(vswitch_id);
    if (vs == vswitches_.end()) fail(error_kind::not_found, "no vSwitch " + vswitch_id);
    if (!vs->second.cidr.contains(ip))
      fail(error_kind::invalid_argument,
           ip.to_string() + " is not inside vSwitch " + vs->second.cidr.to_string());
    if (instances_.count(id)) fail(error_kind::invalid_argument, "instance " + id + " exists");
    auto& v = vpcs_.at(vs->second.vpc_id);
    instance_record r{id,         v.region_id, vs->second.zone_id, v.id,
                      vswitch_id, ip,          new_id("eni-"),     mac_for(ip)};
    enis_[r.eni_id] = id;
    return instances_.emplace(id, std::move(r)).first->second;
  }

  // The instance is released (terminated). Its custom route entries stay where they are, Available
  // and counted against the quota, until someone deletes them: the VPC does not follow an
  // instance's release into the route tables (a route leaks when its owner never deletes it).
  // New entries can no longer name it (InvalidInstanceId.NotFound). False when unknown.
  bool remove_instance(const std::string& id) {
    auto it = instances_.find(id);
    if (it == instances_.end()) return false;
    enis_.erase(it->second.eni_id);
    instances_.erase(it);
    return true;
  }

  // A custom route table on the VPC's VRouter, bound to the given vSwitches.
  const route_table_record& add_custom_table(const std::string& vpc_id,
                                             std::vector<std::string> vswitch_ids = {},
                                             std::string id = {}) {
    auto& v = vpc_ref(vpc_id);
    if (id.empty()) id = new_id("vtb-");
    if (tables_.count(id))
      fail(error_kind::invalid_argument, "route table " + id + " already exists");
    v.table_ids.push_back(id);
    route_table_record t{id, v.vrouter_id, vpc_id, false, std::move(vswitch_ids), {}, {}};
    return tables_.emplace(id, std::move(t)).first->second;
  }

  // ---- lookups ---------------------------------------------------------------------------------

  bool has_region(const std::string& r) const { return regions_.count(r) > 0; }
  const std::set<std::string>& regions() const noexcept { return regions_; }
  const std::map<std::string, vpc_record>& vpcs() const noexcept { return vpcs_; }
  const std::map<std::string, vswitch_record>& vswitches() const noexcept { return vswitches_; }
  const std::map<std::string, instance_record>& instances() const noexcept { return instances_; }
  const instance_record* find_instance(const std::string& id) const {
    auto it = instances_.find(id);
    return it == instances_.end() ? nullptr : &it->second;
  }
  const vpc_record* find_vpc(const std::string& id) const {
    auto it = vpcs_.find(id);
    return it == vpcs_.end() ? nullptr : &it->second;
  }
  const vpc_record* find_vpc_by_vrouter(const std::string& vrouter_id) const {
    for (const auto& [id, v] : vpcs_)
      if (v.vrouter_id == vrouter_id) return &v;
    return nullptr;
  }
  const route_table_record* find_table(const std::string& id) const {
    auto it = tables_.find(id);
    return it == tables_.end() ? nullptr : &it->second;
  }

  // Entries of one table as of `now` (gone entries are dropped first), in destination order.
  std::vector<route_entry_record> entries(const std::string& table_id, time_point now) {
    std::vector<route_entry_record> out;
    for_each_entry(table_id, now, [&](const route_entry_record& e) { out.push_back(e); });
    return out;
  }

  // The same without a copy: f(const route_entry_record&) for each, in destination order.
  template <class F>
  void for_each_entry(const std::string& table_id, time_point now, F&& f) {
    for_each_entry_from(table_id, now, {0, 0}, [&](const route_entry_record& e) {
      f(e);
      return true;
    });
  }

  // From the first entry whose (network, prefix length) is not below `from`, while
  // f(const route_entry_record&) returns true: a listing page costs its own length, not the
  // table's (a 5,000-entry table is listed in 50 pages).
  template <class F>
  void for_each_entry_from(const std::string& table_id, time_point now,
                           std::pair<std::uint32_t, int> from, F&& f) {
    auto& t = table_ref(table_id);
    purge(now);
    auto& index = t.in_order;
    if (index.version != version_) {  // every insert and erase counts in version_
      index.order.clear();
      index.order.reserve(t.entries.size());
      for (const auto& [key, e] : t.entries)
        index.order.emplace_back(key, &e);
      index.version = version_;
    }
    auto it = std::lower_bound(index.order.begin(), index.order.end(), from,
                               [](const auto& item, const key_type& k) { return item.first < k; });
    for (; it != index.order.end(); ++it)
      if (!f(*it->second)) return;
  }

  // Counts every change of an entry (create, delete, a console action, a purge): who looks at
  // the tables looks again only when it moved, or when a Pending/Deleting entry's time is up.
  std::uint64_t version() const noexcept { return version_; }

  // ---- the gate: outages, injected faults, rate limits -----------------------------------------

  // Called once per request before the action; throws the injected error, or says to drop.
  admission admit(const std::string& action, const std::string& account, time_point now) {
    for (const auto& o : cfg_.outages)
      if (now >= o.from && now < o.to && (o.action == "*" || o.action == action))
        return raise_fault(o.kind, action);
    for (const auto& f : cfg_.faults)
      if ((f.action == "*" || f.action == action) && f.rate > 0 && rng_.chance(f.rate))
        return raise_fault(f.kind, action);
    auto limit = cfg_.throttle_per_minute.find(action);
    if (limit == cfg_.throttle_per_minute.end()) limit = cfg_.throttle_per_minute.find("*");
    if (limit != cfg_.throttle_per_minute.end()) {
      auto key = account + "\n" + action;
      auto it = buckets_.find(key);
      if (it == buckets_.end())
        it =
            buckets_.emplace(key, token_bucket(limit->second, std::chrono::seconds(60), now)).first;
      if (!it->second.try_take(now))
        throw api_failure(400, "Throttling.User", "Request was denied due to user flow control.");
    }
    return admission::proceed;
  }

  clock_duration draw_latency(const std::string& action) {
    auto it = cfg_.latency.find(action);
    return (it == cfg_.latency.end() ? cfg_.default_latency : it->second).draw(rng_);
  }

  // ---- writes ----------------------------------------------------------------------------------

  // Creates a custom entry; returns its id. A repeated ClientToken with the same parameters
  // returns the first answer again (the service's idempotency).
  std::string create_route_entry(const create_route_request& r, time_point now) {
    purge(now);
    if (!r.client_token.empty()) {
      auto it = tokens_.find(r.client_token);
      if (it != tokens_.end()) {
        if (it->second.first == fingerprint(r)) return it->second.second;
        throw api_failure(
            400, "IdempotentParameterMismatch",
            "The request uses the same client token as a previous, but non-identical request.");
      }
    }
    auto& t = table_for_write(r.route_table_id);
    auto dest = parse_destination(r.destination);
    if (dest.overlaps(net::ipv4_cidr::parse(reserved_range)))
      throw api_failure(400, "OperationDenied",
                        "The specified DestinationCidrBlock " + dest.to_string() +
                            " overlaps the reserved range " + reserved_range + ".");
    std::string hop_type = r.next_hop_type.empty() ? "Instance" : r.next_hop_type;
    check_next_hop(t, hop_type, r.next_hop_id);
    auto key = key_of(dest);
    if (t.entries.count(key))
      throw api_failure(
          400, "RouterEntryConflict.Duplicated",
          "Specified CIDR block " + dest.to_string() + " already exists in the route table.");
    check_no_write_in_progress(t, now);
    std::size_t custom = 0;
    for (const auto& [k, e] : t.entries)
      custom += e.system ? 0 : 1;
    if (custom >= cfg_.quota_per_table)
      throw api_failure(400, "QuotaExceeded", "Route entry quota exceeded in this route table.");
    route_entry_record e{new_id("rte-"),         t.id,        dest, false, hop_type, r.next_hop_id,
                         now + cfg_.write_delay, std::nullopt};
    t.entries.emplace(key, e);
    ++version_;
    if (!r.client_token.empty()) tokens_[r.client_token] = {fingerprint(r), e.id};
    return e.id;
  }

  // Called as an API delete (DeleteRouteEntry or one entry of DeleteRouteEntries) starts, with
  // the entry: the runner's safety check asks whose route it was. Console deletes (force_delete)
  // do not call it.
  std::function<void(const route_entry_record&)> on_delete;

  // Starts deleting an Available custom entry (it is Deleting for write_delay, then gone).
  void delete_route_entry(const delete_route_request& r, time_point now) {
    purge(now);
    route_table_record* t = nullptr;
    route_entry_record* entry = nullptr;
    if (!r.route_entry_id.empty() && r.destination.empty()) {
      for (auto& [id, table] : tables_)
        for (auto& [k, e] : table.entries)
          if (e.id == r.route_entry_id) t = &table, entry = &e;
      if (!r.route_table_id.empty() && t && t->id != r.route_table_id) entry = nullptr;
      if (!entry)
        throw api_failure(404, "InvalidRouteEntry.NotFound",
                          "The specified route entry " + r.route_entry_id + " does not exist.");
    } else {
      t = &table_for_write(r.route_table_id);
      auto dest = parse_destination(r.destination);
      auto it = t->entries.find(key_of(dest));
      if (it == t->entries.end() ||
          (!r.next_hop_id.empty() && it->second.next_hop_id != r.next_hop_id) ||
          it->second.status(now) == entry_status::deleting)
        throw api_failure(404, "InvalidRouteEntry.NotFound",
                          "The specified route entry " + dest.to_string() + " does not exist.");
      entry = &it->second;
    }
    if (entry->system)
      throw api_failure(400, "OperationDenied", "A system route entry cannot be deleted.");
    check_no_write_in_progress(*t, now);
    entry->gone_at = now + cfg_.write_delay;
    ++version_;
    next_purge_ = std::min(next_purge_, *entry->gone_at);
    if (on_delete) on_delete(*entry);
  }

  // CreateRouteEntries. The request as a whole is checked first (1..50 entries, every field
  // well-formed, tables known and of one VPC); a fault there refuses it whole, as does another
  // write in progress in the VPC (IncorrectRouteEntryStatus / TaskConflict, like a single
  // write). Then each entry is judged on its own, in order, against the table as this batch
  // leaves it: a failure goes to `failed`, a success becomes Pending for write_delay. An entry
  // the batch names that is itself Pending or Deleting does not block the batch (a batch sent
  // again while its first copy is in progress): it fails with VPC_ROUTE_ENTRY_STATUS_ERROR.
  batch_route_result create_route_entries(const batch_route_request& r, time_point now) {
    purge(now);
    const auto& vpc_id = batch_vpc(r, "create");
    std::vector<std::pair<std::string, key_type>> named;
    for (const auto& in : r.entries)
      named.emplace_back(in.route_table_id, key_of(net::ipv4_cidr::parse(in.destination)));
    check_batch_not_blocked(r, vpc_id, named, now);

    batch_route_result out;
    std::vector<route_entry_record> added;
    std::map<std::string, std::size_t> added_per_table;
    for (std::size_t i = 0; i < r.entries.size(); ++i) {
      const auto& in = r.entries[i];
      try {
        auto& t = table_ref(in.route_table_id);
        auto dest = net::ipv4_cidr::parse(in.destination);
        if (dest.overlaps(net::ipv4_cidr::parse(reserved_range)))
          throw api_failure(400, "OperationDenied",
                            "The specified DstCidrBlock " + dest.to_string() +
                                " overlaps the reserved range " + reserved_range + ".");
        for (const auto& a : added)
          if (a.table_id == t.id && a.destination == dest)
            throw api_failure(400, entry_duplicate_code,
                              "DstCidrBlock " + dest.to_string() +
                                  " appears more than once for route table " + t.id +
                                  " in this request.");
        if (auto it = t.entries.find(key_of(dest)); it != t.entries.end()) {
          auto s = it->second.status(now);
          if (s == entry_status::pending || s == entry_status::deleting)
            throw api_failure(400, entry_status_code,
                              "The route entry " + dest.to_string() + " of route table " + t.id +
                                  " is " + to_api_string(s) + "; try again when it is settled.");
          throw api_failure(400, entry_duplicate_code,
                            "The route entry " + dest.to_string() +
                                " already exists in route table " + t.id + " (next hop " +
                                it->second.next_hop_id + ").");
        }
        std::string hop_type = in.next_hop_type.empty() ? "Instance" : in.next_hop_type;
        check_next_hop(t, hop_type, in.next_hop_id);
        if (custom_entries(t) + added_per_table[t.id] >= cfg_.quota_per_table)
          throw api_failure(400, "QuotaExceeded",
                            "Route entry quota exceeded in route table " + t.id + " (" +
                                std::to_string(cfg_.quota_per_table) + " custom entries).");
        ++added_per_table[t.id];
        route_entry_record e{{},
                             t.id,
                             dest,
                             false,
                             hop_type,
                             in.next_hop_id,
                             now + cfg_.write_delay,
                             std::nullopt,
                             in.name,
                             in.description};
        added.push_back(std::move(e));
        ++out.success_count;
      } catch (const api_failure& f) {
        out.failed.push_back({i, in.destination, in.next_hop_id, f.code(), f.error().message});
      }
    }
    if (r.dry_run) return out;
    for (auto& e : added) {
      e.id = new_id("rte-");  // only here: a dry run draws no id
      out.route_entry_ids.push_back(e.id);
      tables_.at(e.table_id).entries.emplace(key_of(e.destination), e);
      ++version_;
    }
    return out;
  }

  // DeleteRouteEntries: the same shape. Each entry is named by RouteTableId + RouteEntryId, or
  // RouteTableId + DstCidrBlock (+ NextHop, which must then match). Only Available custom
  // entries are deleted (Deleting for write_delay, then gone); a missing one fails with
  // VPC_ROUTER_ENTRY_NOT_EXIST, a Pending or Deleting one with VPC_ROUTE_ENTRY_STATUS_ERROR.
  batch_route_result delete_route_entries(const batch_route_request& r, time_point now) {
    purge(now);
    const auto& vpc_id = batch_vpc(r, "delete");
    std::vector<const route_entry_record*> found;
    std::vector<std::pair<std::string, key_type>> named;
    for (const auto& in : r.entries) {
      found.push_back(find_for_delete(in, now));
      if (found.back()) named.emplace_back(in.route_table_id, key_of(found.back()->destination));
    }
    check_batch_not_blocked(r, vpc_id, named, now);

    batch_route_result out;
    std::vector<const route_entry_record*> deleted;
    for (std::size_t i = 0; i < r.entries.size(); ++i) {
      const auto& in = r.entries[i];
      const auto* e = found[i];
      std::string dest = in.destination, hop = in.next_hop_id;
      if (e && dest.empty()) dest = e->destination.to_string();
      if (e && hop.empty()) hop = e->next_hop_id;
      try {
        auto what = in.route_entry_id.empty() ? dest : in.route_entry_id;
        if (!e || std::find(deleted.begin(), deleted.end(), e) != deleted.end())
          throw api_failure(400, entry_not_exist_code,
                            "The route entry " + what + " does not exist in route table " +
                                in.route_table_id + (e ? " (named twice in this request)." : "."));
        if (e->system)
          throw api_failure(400, "OperationDenied", "A system route entry cannot be deleted.");
        if (auto s = e->status(now); s != entry_status::available)
          throw api_failure(400, entry_status_code,
                            "The route entry " + what + " is " + to_api_string(s) +
                                "; only Available entries can be deleted.");
        deleted.push_back(e);
        ++out.success_count;
      } catch (const api_failure& f) {
        out.failed.push_back({i, dest, hop, f.code(), f.error().message});
      }
    }
    if (r.dry_run) return out;
    for (const auto* e : deleted) {
      auto& entry = tables_.at(e->table_id).entries.at(key_of(e->destination));
      entry.gone_at = now + cfg_.write_delay;
      next_purge_ = std::min(next_purge_, *entry.gone_at);
      ++version_;
      out.route_entry_ids.push_back(entry.id);
      if (on_delete) on_delete(entry);
    }
    return out;
  }

  // Adds an Available custom entry at once, bypassing quota and write rules, as if someone
  // created it in the console (admin / chaos). False when the table is unknown or the
  // destination is taken.
  bool force_create(const std::string& table_id, net::ipv4_cidr dest, const std::string& hop_type,
                    const std::string& hop_id) {
    auto it = tables_.find(table_id);
    if (it == tables_.end() || hop_id.empty()) return false;
    route_entry_record e{new_id("rte-"), table_id,          dest,        false, hop_type,
                         hop_id,         time_point::min(), std::nullopt};
    if (!it->second.entries.emplace(key_of(dest), e).second) return false;
    ++version_;
    return true;
  }

  // Removes an entry at once, as if someone deleted it in the console (admin / chaos).
  bool force_delete(const std::string& table_id, net::ipv4_cidr dest) {
    auto it = tables_.find(table_id);
    if (it == tables_.end() || it->second.entries.erase(key_of(dest)) == 0) return false;
    ++version_;
    return true;
  }

 private:
  using key_type = std::pair<std::uint32_t, int>;

  std::size_t custom_entries(const route_table_record& t) const {
    std::size_t n = 0;
    for (const auto& [k, e] : t.entries)
      n += e.system ? 0 : 1;
    return n;
  }

  // The checks of a batch as a whole; returns the VPC all its tables belong to. Each fault
  // names its parameter (RouteEntries.N.Field, N from 1).
  const std::string& batch_vpc(const batch_route_request& r, std::string_view what) {
    auto field = [](std::size_t i, const char* name) {
      return "RouteEntries." + std::to_string(i + 1) + "." + name;
    };
    auto missing = [&](const std::string& name) {
      return api_failure(400, "MissingParameter",
                         "The input parameter \"" + name +
                             "\" that is mandatory for processing this request is not supplied.");
    };
    if (r.entries.empty()) throw missing("RouteEntries.1.RouteTableId");
    if (r.entries.size() > max_batch_entries)
      throw api_failure(400, "InvalidParameter",
                        "The specified parameter \"RouteEntries\" is not valid: " +
                            std::to_string(r.entries.size()) + " entries, at most " +
                            std::to_string(max_batch_entries) + " per call.");
    const std::string* vpc = nullptr;
    for (std::size_t i = 0; i < r.entries.size(); ++i) {
      const auto& in = r.entries[i];
      if (in.route_table_id.empty()) throw missing(field(i, "RouteTableId"));
      auto t = tables_.find(in.route_table_id);
      if (t == tables_.end())
        throw api_failure(404, "InvalidRouteTableId.NotFound",
                          "The specified route table " + in.route_table_id + " (" +
                              field(i, "RouteTableId") + ") does not exist.");
      if (vpc && *vpc != t->second.vpc_id)
        throw api_failure(400, "InvalidParameter",
                          "The specified parameter \"" + field(i, "RouteTableId") +
                              "\" is not valid: route table " + in.route_table_id + " is in VPC " +
                              t->second.vpc_id + ", the first entry's in " + *vpc +
                              "; a batch writes one VPC.");
      vpc = &t->second.vpc_id;
      bool by_id = what == "delete" && !in.route_entry_id.empty();
      if (in.destination.empty() && !by_id)
        throw missing(what == "delete"
                          ? field(i, "RouteEntryId") + " or " + field(i, "DstCidrBlock")
                          : field(i, "DstCidrBlock"));
      if (!in.destination.empty() && !net::ipv4_cidr::try_parse(in.destination))
        throw api_failure(400, "InvalidCidrBlock.Malformed",
                          "Specified " + field(i, "DstCidrBlock") + " \"" + in.destination +
                              "\" is not a valid CIDR block.");
      if (what == "create" && in.next_hop_id.empty()) throw missing(field(i, "NextHop"));
      if (in.name.size() > 128)
        throw api_failure(400, "InvalidParameter",
                          "The specified parameter \"" + field(i, "Name") +
                              "\" is not valid: at most 128 characters.");
      if (in.description.size() > 256)
        throw api_failure(400, "InvalidParameter",
                          "The specified parameter \"" + field(i, "Description") +
                              "\" is not valid: at most 256 characters.");
    }
    return *vpc;
  }

  // Another write in progress in the VPC refuses the whole batch; the batch's own entries
  // (`named`: table, destination) do not count, they fail on their own.
  void check_batch_not_blocked(const batch_route_request& r, const std::string& vpc_id,
                               const std::vector<std::pair<std::string, key_type>>& named,
                               time_point now) const {
    check_no_write_in_progress(
        vpc_id, now,
        [&](const std::string& tid) {
          return std::any_of(r.entries.begin(), r.entries.end(),
                             [&](const auto& in) { return in.route_table_id == tid; });
        },
        [&](const route_entry_record& e) {
          return std::find(named.begin(), named.end(),
                           std::pair(e.table_id, key_of(e.destination))) != named.end();
        });
  }

  // The entry a delete names (by id, or by destination and optional next hop), or null.
  const route_entry_record* find_for_delete(const batch_route_entry& in, time_point now) const {
    const auto& t = tables_.at(in.route_table_id);
    const route_entry_record* e = nullptr;
    if (!in.route_entry_id.empty()) {
      for (const auto& [k, x] : t.entries)
        if (x.id == in.route_entry_id) e = &x;
    } else {
      auto it = t.entries.find(key_of(net::ipv4_cidr::parse(in.destination)));
      if (it != t.entries.end()) e = &it->second;
    }
    if (!e || e->status(now) == entry_status::gone) return nullptr;
    if (!in.destination.empty() && e->destination != net::ipv4_cidr::parse(in.destination))
      return nullptr;
    if (!in.next_hop_id.empty() && e->next_hop_id != in.next_hop_id) return nullptr;
    return e;
  }

  static std::pair<std::uint32_t, int> key_of(net::ipv4_cidr c) {
    return {c.network().value(), c.prefix_length()};
  }
  static std::string fingerprint(const create_route_request& r) {
    return r.route_table_id + "\n" + r.destination + "\n" + r.next_hop_type + "\n" + r.next_hop_id;
  }
  static std::string mac_for(net::ipv4_address ip) {
    char buf[24];
    auto v = ip.value();
    std::snprintf(buf, sizeof buf, "00:16:3e:%02x:%02x:%02x", (v >> 16) & 0xff, (v >> 8) & 0xff,
                  v & 0xff);
    return buf;
  }

  std::string new_id(const char* prefix) {
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string id = prefix;
    for (int i = 0; i < 20; ++i)
      id += alphabet[id_rng_.below(36)];
    return id;
  }

  vpc_record& vpc_ref(const std::string& id) {
    auto it = vpcs_.find(id);
    if (it == vpcs_.end()) fail(error_kind::not_found, "no VPC " + id);
    return it->second;
  }
  route_table_record& table_ref(const std::string& id) {
    auto it = tables_.find(id);
    if (it == tables_.end())
      throw api_failure(404, "InvalidRouteTableId.NotFound",
                        "The specified route table " + id + " does not exist.");
    return it->second;
  }
  route_table_record& table_for_write(const std::string& id) {
    if (id.empty())
      throw api_failure(400, "MissingParameter", "RouteTableId is mandatory for this action.");
    return table_ref(id);
  }
  static net::ipv4_cidr parse_destination(const std::string& text) {
    if (text.empty())
      throw api_failure(400, "MissingParameter",
                        "DestinationCidrBlock is mandatory for this action.");
    auto c = net::ipv4_cidr::try_parse(text);
    if (!c)
      throw api_failure(
          400, "InvalidCidrBlock.Malformed",
          "Specified DestinationCidrBlock \"" + text + "\" is not a valid CIDR block.");
    return *c;
  }

  void add_system_entry(const std::string& table_id, net::ipv4_cidr dest) {
    auto& t = tables_.at(table_id);
    route_entry_record e{new_id("rte-"),    table_id,    dest, true, "local", "",
                         time_point::min(), std::nullopt};
    t.entries.emplace(key_of(dest), e);
    ++version_;
  }

  void check_next_hop(const route_table_record& t, const std::string& type, const std::string& id) {
    if (id.empty())
      throw api_failure(400, "MissingParameter", "NextHopId is mandatory for this action.");
    if (type == "Instance") {
      auto it = instances_.find(id);
      if (it == instances_.end() || it->second.vpc_id != t.vpc_id)
        throw api_failure(404, "InvalidInstanceId.NotFound",
                          "The specified instance " + id + " does not exist in this VPC.");
    } else if (type == "NetworkInterface") {
      auto it = enis_.find(id);
      if (it == enis_.end() || instances_.at(it->second).vpc_id != t.vpc_id)
        throw api_failure(404, "InvalidNextHopId.NotFound",
                          "The specified next hop " + id + " does not exist in this VPC.");
    } else {
      throw api_failure(400, "InvalidParameter",
                        "NextHopType \"" + type +
                            "\" is not supported by this emulator (Instance, NetworkInterface).");
    }
  }

  // One write at a time per VPC: while any entry of the VPC is Pending or Deleting, writes fail.
  void check_no_write_in_progress(const route_table_record& target, time_point now) const {
    check_no_write_in_progress(
        target.vpc_id, now, [&](const std::string& tid) { return tid == target.id; },
        [](const route_entry_record&) { return false; });
  }
  // The same for a write to the tables where is_target(table id) holds; entries with
  // exempt(entry) do not count (a batch's own entries: they fail on their own instead).
  template <class IsTarget, class Exempt>
  void check_no_write_in_progress(const std::string& vpc_id, time_point now, IsTarget is_target,
                                  Exempt exempt) const {
    const auto& v = vpcs_.at(vpc_id);
    for (const auto& tid : v.table_ids) {
      const auto& t = tables_.at(tid);
      for (const auto& [k, e] : t.entries) {
        auto s = e.status(now);
        if ((s == entry_status::pending || s == entry_status::deleting) && !exempt(e)) {
          if (is_target(tid))
            throw api_failure(
                400, "IncorrectRouteEntryStatus",
                "The route entry " + e.destination.to_string() +
                    " of this route table is in a transitional state; try again later.");
          throw api_failure(400, "TaskConflict",
                            "Another route operation in this VPC is in progress; try again later.");
        }
      }
    }
  }

  // Drops entries whose delete has finished; a no-op until the first of them is due (every
  // request calls it, and a scan of every table each time is what made large VPCs slow).
  void purge(time_point now) {
    if (now < next_purge_) return;
    next_purge_ = time_point::max();
    for (auto& [id, t] : tables_)
      version_ += std::erase_if(t.entries, [&](const auto& kv) {
        const auto& e = kv.second;
        if (e.gone_at && *e.gone_at > now) next_purge_ = std::min(next_purge_, *e.gone_at);
        return e.status(now) == entry_status::gone;
      });
  }

  admission raise_fault(fault_kind k, const std::string& action) {
    switch (k) {
      case fault_kind::internal_error:
        throw api_failure(500, "InternalError",
                          "The request processing has failed due to some unknown error.");
      case fault_kind::service_unavailable:
        throw api_failure(503, "ServiceUnavailable",
                          "The request has failed due to a temporary failure of the server.");
      case fault_kind::throttling:
        throw api_failure(400, "Throttling",
                          "Request was denied due to request throttling (" + action + ").");
      case fault_kind::drop:
        return admission::drop;
      case fault_kind::timeout:
        return admission::timeout;
    }
    return admission::proceed;
  }

  model_config cfg_;
  prng rng_;
  prng id_rng_;  // ids do not perturb the fault/latency stream
  sim::counters counters_;
  std::set<std::string> regions_;
  std::map<std::string, vpc_record> vpcs_;
  std::map<std::string, vswitch_record> vswitches_;
  std::map<std::string, instance_record> instances_;
  std::map<std::string, std::string> enis_;  // eni id -> instance id
  std::map<std::string, route_table_record> tables_;
  time_point next_purge_ = time_point::max();  // the earliest gone_at still in a table
  std::uint64_t version_ = 0;
  std::map<std::string, token_bucket> buckets_;
  std::map<std::string, std::pair<std::string, std::string>>
      tokens_;  // ClientToken -> (fingerprint, entry id)
};

}  // namespace alivpc::sim
