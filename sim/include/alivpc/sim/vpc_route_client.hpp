// sim::vpc_route_client: cloud::cloud_route_api on top of a vpc_model, for a simulated node on a
// scheduler (virtual or real). Each call waits the model's latency with sleep_for, passes the
// model's gate (faults, throttling), and retries transient and conflict answers with capped
// exponential backoff and jitter, as the real client does.
#pragma once

#include <alivpc/cloud/route_api.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/sim/vpc_model.hpp>

#include <functional>
#include <string>

namespace alivpc::sim {

struct retry_policy {
  int max_attempts = 8;
  clock_duration first_backoff = std::chrono::milliseconds(200);
  clock_duration max_backoff = std::chrono::seconds(10);
  clock_duration drop_timeout = std::chrono::seconds(10);  // a dropped request is seen after this
};

inline cloud::route_entry_status to_cloud_status(entry_status s) {
  switch (s) {
    case entry_status::pending:
      return cloud::route_entry_status::pending;
    case entry_status::available:
      return cloud::route_entry_status::available;
    case entry_status::deleting:
      return cloud::route_entry_status::deleting;
    case entry_status::gone:
      return cloud::route_entry_status::unknown;
  }
  return cloud::route_entry_status::unknown;
}

template <scheduler S>
class vpc_route_client {
 public:
  vpc_route_client(S& sched, vpc_model& model, std::string instance_id, std::string account = "sim",
                   retry_policy retry = {})
      : s_(sched),
        model_(model),
        instance_id_(std::move(instance_id)),
        account_(std::move(account)),
        retry_(retry) {}

  task<void> ensure_credentials() { co_return; }

  task<cloud::instance_identity> identity() {
    co_await call("DescribeInstanceMetadata", [] {});
    const auto* i = model_.find_instance(instance_id_);
    if (!i) fail(error_kind::not_found, "metadata: no instance " + instance_id_ + " in the model");
    const auto* v = model_.find_vpc(i->vpc_id);
    co_return cloud::instance_identity{i->id,
                                       i->region_id,
                                       i->zone_id,
                                       i->vpc_id,
                                       i->vswitch_id,
                                       i->private_ip,
                                       v ? std::optional(v->cidr) : std::nullopt};
  }

  task<cloud::vpc_info> describe_vpc(const std::string& vpc_id) {
    cloud::vpc_info out;
    co_await call("DescribeVpcs", [&] {
      const auto* v = model_.find_vpc(vpc_id);
      if (!v)
        throw api_failure(404, "InvalidVpcId.NotFound",
                          "The specified VPC " + vpc_id + " does not exist.");
      out = cloud::vpc_info{v->id, v->region_id, v->vrouter_id, v->cidr, "Available"};
    });
    co_return out;
  }

  task<std::vector<std::string>> list_route_table_ids(const std::string& vrouter_id) {
    std::vector<std::string> out;
    co_await call("DescribeRouteTableList", [&] {
      const auto* v = model_.find_vpc_by_vrouter(vrouter_id);
      if (!v) throw api_failure(404, "InvalidVRouterId.NotFound", "No VRouter " + vrouter_id + ".");
      out = v->table_ids;
    });
    co_return out;
  }

  task<std::vector<cloud::route_entry>> list_route_entries(const std::string& table_id) {
    std::vector<cloud::route_entry> out;
    co_await call("DescribeRouteEntryList", [&] {
      out.clear();
      for (const auto& e : model_.entries(table_id, s_.now()))
        out.push_back(cloud::route_entry{
            e.table_id, e.id, e.destination,
            e.system ? cloud::route_entry_type::system : cloud::route_entry_type::custom,
            e.system ? "" : e.next_hop_type, e.next_hop_id, to_cloud_status(e.status(s_.now()))});
    });
    co_return out;
  }

  task<void> create_route_entry(const cloud::route_spec& r) {
    co_await call("CreateRouteEntry", [&] {
      try {
        model_.create_route_entry(
            {r.route_table_id, r.destination.to_string(), r.next_hop_type, r.next_hop_id, ""},
            s_.now());
      } catch (const api_failure& f) {
        if (!is_duplicate_code(f.code())) throw;
        for (const auto& e : model_.entries(r.route_table_id, s_.now()))
          if (e.destination == r.destination && e.next_hop_id == r.next_hop_id) return;  // ours
        fail(error_kind::conflict, "CreateRouteEntry " + r.destination.to_string() + " in " +
                                       r.route_table_id +
                                       ": the destination exists with another next hop");
      }
    });
  }

  task<void> delete_route_entry(const cloud::route_spec& r) {
    co_await call("DeleteRouteEntry", [&] {
      try {
        if (r.route_entry_id.empty())
          model_.delete_route_entry(
              {r.route_table_id, r.destination.to_string(), r.next_hop_id, ""}, s_.now());
        else
          model_.delete_route_entry({r.route_table_id, "", "", r.route_entry_id}, s_.now());
      } catch (const api_failure& f) {
        if (f.code() != "InvalidRouteEntry.NotFound") throw;  // already gone: success
      }
    });
  }

 private:
  // One request with retries: latency, gate, action; api_failure becomes alivpc::error.
  task<void> call(std::string action, std::function<void()> body) {
    clock_duration backoff = retry_.first_backoff;
    for (int attempt = 1;; ++attempt) {
      std::string code;
      std::string message;
      co_await sleep_for(s_, model_.draw_latency(action));
      try {
        if (auto gate = model_.admit(action, account_, s_.now()); gate != admission::proceed) {
          model_.stats().record(action, gate == admission::drop ? "Dropped" : "TimedOut");
          co_await sleep_for(s_, retry_.drop_timeout);
          code = "Timeout";
          message = "no answer within the request timeout";
        } else {
          body();
          model_.stats().record(action, "Success");
          co_return;
        }
      } catch (const api_failure& f) {
        model_.stats().record(action, f.code());
        code = f.code();
        message = f.error().message;
      }
      auto kind = code == "Timeout" ? error_kind::transient : classify(code);
      bool retry = kind == error_kind::transient ||
                   (kind == error_kind::conflict && !is_duplicate_code(code));
      if (!retry || attempt >= retry_.max_attempts) {
        std::string why = action;
        why += " failed after ";
        why += std::to_string(attempt);
        why += " attempt(s): ";
        why += code;
        why += ": ";
        why += message;
        fail(kind, why);
      }
      auto jitter = clock_duration(static_cast<clock_duration::rep>(
          s_.random().unit() * static_cast<double>(backoff.count())));
      co_await sleep_for(s_, backoff / 2 + jitter / 2);
      backoff = std::min(backoff * 2, retry_.max_backoff);
    }
  }

  S& s_;
  vpc_model& model_;
  std::string instance_id_;
  std::string account_;
  retry_policy retry_;
};

static_assert(cloud::cloud_route_api<vpc_route_client<virtual_scheduler>>);

}  // namespace alivpc::sim
