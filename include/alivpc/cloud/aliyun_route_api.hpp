// cloud_route_api over Alibaba Cloud's OpenAPI: the real thing, over HTTPS.
//
//   asio_scheduler sched(io);
//   cloud::aliyun_options o;                 // region and endpoint from metadata by default
//   o.credentials.access_key_id = "...";     // or the environment, or the RAM role
//   cloud::aliyun_route_api api(sched, io, o);
//   co_await api.ensure_credentials();       // fails at once, saying how to give credentials
//   auto me = co_await api.identity();
//
// Paging is complete everywhere (the original backend read one page). Creates carry a
// ClientToken that all retries of one logical create share; an entry that already exists is
// success when its next hop is ours and a conflict error otherwise; deleting an entry that is
// gone is success; a full route table is error_kind::exhausted with what to do about it.
// Batches (create_route_entries / delete_route_entries, VPC flavour) answer per route.
#pragma once

#include <alivpc/cloud/api_error.hpp>
#include <alivpc/cloud/credentials.hpp>
#include <alivpc/runtime/log.hpp>
#include <alivpc/cloud/metadata_client.hpp>
#include <alivpc/cloud/detail/route_entry_list_reader.hpp>
#include <alivpc/cloud/responses.hpp>
#include <alivpc/cloud/retry_policy.hpp>
#include <alivpc/cloud/route_api.hpp>
#include <alivpc/cloud/rpc_client.hpp>
#include <alivpc/cloud/transport.hpp>
#include <alivpc/runtime/asio_scheduler.hpp>
#include <alivpc/runtime/scheduler.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace alivpc::cloud {

// Which OpenAPI product serves the route actions.
enum class api_flavour {
  vpc,  // VPC API 2016-04-28 (default; has DescribeRouteEntryList / DescribeRouteTableList)
  ecs,  // ECS API 2014-05-26, as the original flannel backend (DescribeVRouters/RouteTables)
};

struct aliyun_options {
  std::string region;        // empty: the instance's region from metadata
  std::string vpc_endpoint;  // --vpc-endpoint; empty: https://vpc.<region>.aliyuncs.com
                             // (ECS flavour: https://ecs.<region>.aliyuncs.com)
  signature_version signature = signature_version::v3;  // --signature-version v3|v1
  api_flavour flavour = api_flavour::vpc;
  std::string ca_file;  // --vpc-ca-file; empty: the system store. Verification is always on.
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{15000};
  std::string user_agent = "alivpc/0.1";
  // Custom entries a route table may hold (48, 50 or 200 depending on account and year), when
  // the operator knows it: only used to explain QuotaExceeded; 0 = unknown (the service decides,
  // and the message then says that the table holds as many as it allows).
  int route_table_quota = 0;
  int page_size = 50;         // PageSize of Describe* (service maximum 50)
  int entry_page_size = 100;  // MaxResult of DescribeRouteEntryList
  retry_options retry;
  metadata_options metadata;
  credentials_options credentials;
  logger log;  // the cloud client's events (retries, throttling, credential refreshes)
};

inline std::string default_endpoint(api_flavour f, std::string_view region) {
  return std::string(f == api_flavour::ecs ? "https://ecs." : "https://vpc.") +
         std::string(region) + ".aliyuncs.com";
}

template <scheduler S>
class basic_aliyun_route_api {
 public:
  basic_aliyun_route_api(S& s, transport_factory transport, aliyun_options o)
      : s_(s),
        o_(std::move(o)),
        transport_(std::move(transport)),
        metadata_(std::make_unique<metadata_client<S>>(s, transport_, o_.metadata, o_.log)),
        creds_(std::make_unique<credential_chain<S>>(s, *metadata_, o_.credentials, o_.log)) {
    if (o_.page_size < 1 || o_.page_size > 50)
      fail(error_kind::invalid_argument,
           "page_size " + std::to_string(o_.page_size) + ": expected 1..50 (the service maximum)");
    if (o_.entry_page_size < 1 || o_.entry_page_size > 100)
      fail(error_kind::invalid_argument,
           "entry_page_size " + std::to_string(o_.entry_page_size) + ": expected 1..100");
    if (!o_.vpc_endpoint.empty()) (void)http::url::parse(o_.vpc_endpoint);  // fail early
  }
  basic_aliyun_route_api(S& s, boost::asio::io_context& io, aliyun_options o)
      : basic_aliyun_route_api(s, http_transport(io), std::move(o)) {}

  // ---- cloud_route_api (parameters by value: the coroutine frames own them; see task.hpp) --

  task<void> ensure_credentials() { co_await creds_->ensure(); }

  task<instance_identity> identity() {
    auto id = co_await metadata_->identity();
    co_return id;
  }

  task<vpc_info> describe_vpc(std::string vpc_id) {
    auto* rpc_ptr = co_await client();
    auto& rpc = *rpc_ptr;
    for (std::int64_t page = 1;; ++page) {
      auto params = region_params();
      params["VpcId"] = vpc_id;
      params["PageNumber"] = std::to_string(page);
      params["PageSize"] = std::to_string(o_.page_size);
      auto body = co_await rpc.call("DescribeVpcs", params);
      auto a = parse_describe_vpcs(body);
      for (const auto& v : a.vpcs) {
        if (v.vpc_id != vpc_id) continue;
        auto cidr = net::ipv4_cidr::try_parse(v.cidr_block);
        if (!cidr)
          fail(error_kind::parse, "DescribeVpcs answer: VPC " + vpc_id + " has CidrBlock \"" +
                                      v.cidr_block.substr(0, 64) + "\", not an IPv4 CIDR");
        co_return vpc_info{v.vpc_id, v.region_id.empty() ? region_ : v.region_id, v.vrouter_id,
                           *cidr, v.status};
      }
      if (!next_page(a.total_count, page, a.vpcs.size())) break;
    }
    fail(error_kind::not_found, "VPC " + vpc_id + " not found in region " + region_ +
                                    " (DescribeVpcs on " + rpc.endpoint().to_string() + ")");
  }

  task<std::vector<std::string>> list_route_table_ids(std::string vrouter_id) {
    co_await client();
    if (o_.flavour == api_flavour::vpc && !no_route_table_list_) {
      try {
        auto result = co_await route_table_ids_from_list(vrouter_id);
        co_return result;
      } catch (const api_error& e) {
        if (!unsupported_action(e)) throw;
        no_route_table_list_ = true;
        o_.log.log(log_level::info,
                   "DescribeRouteTableList is not available here; using DescribeVRouters");
      }
    }
    auto result = co_await route_table_ids_from_vrouters(vrouter_id);
    co_return result;
  }

  // Every entry (no default argument: GCC 12 mishandles one in a co_await, see task.hpp).
  task<std::vector<route_entry>> list_route_entries(std::string table_id) {
    return list_route_entries(std::move(table_id), route_entry_filter{});
  }
  task<std::vector<route_entry>> list_route_entries(std::string table_id,
                                                    route_entry_filter filter) {
    co_await client();
    if (o_.flavour == api_flavour::vpc && !no_route_entry_list_) {
      try {
        auto result = co_await entries_from_entry_list(table_id, filter);
        co_return result;
      } catch (const api_error& e) {
        if (!unsupported_action(e)) throw;
        no_route_entry_list_ = true;
        o_.log.log(log_level::info,
                   "DescribeRouteEntryList is not available here; using DescribeRouteTables");
      }
    }
    // DescribeRouteTables cannot filter: the whole table, filtered here.
    auto result = co_await entries_from_route_tables(table_id);
    std::erase_if(result, [&](const route_entry& e) { return !filter.matches(e); });
    co_return result;
  }

  task<void> create_route_entry(route_spec route) {
    auto* rpc_ptr = co_await client();
    auto& rpc = *rpc_ptr;
    auto params = region_params();
    params["RouteTableId"] = route.route_table_id;
    params["DestinationCidrBlock"] = route.destination.to_string();
    params["NextHopType"] = route.next_hop_type.empty() ? "Instance" : route.next_hop_type;
    params["NextHopId"] = route.next_hop_id;
    // One token for every retry of this create: the service then creates the entry once.
    params["ClientToken"] = make_uuid(s_.random());
    std::optional<api_error> failure;
    try {
      auto body = co_await rpc.call("CreateRouteEntry", params);
      parse_create_route_entry(body);
      co_return;
    } catch (const api_error& e) {
      if (e.error_class() != api_error_class::duplicate &&
          e.error_class() != api_error_class::quota)
        throw;
      failure = e;
    }
    if (failure->error_class() == api_error_class::quota) co_await explain_quota(route, *failure);
    // Already there: fine when it is ours.
    const route_entry_filter same_destination{route.destination, {}};
    auto entries = co_await list_route_entries(route.route_table_id, same_destination);
    for (const auto& e : entries) {
      if (e.destination != route.destination) continue;
      if (e.next_hop_id == route.next_hop_id) {
        o_.log.log(log_level::debug,
                   "route " + route.destination.to_string() + " in " + route.route_table_id +
                       " already exists with our next hop " + route.next_hop_id,
                   {{"table", route.route_table_id},
                    {"subnet", route.destination.to_string()},
                    {"route_entry_id", e.route_entry_id}});
        co_return;
      }
      fail(error_kind::conflict,
           "route table " + route.route_table_id + " already has " + route.destination.to_string() +
               " via " + (e.next_hop_type.empty() ? std::string("next hop") : e.next_hop_type) +
               " " + (e.next_hop_id.empty() ? std::string("(none)") : e.next_hop_id) +
               ", not via " + params["NextHopType"] + " " + route.next_hop_id +
               " (this node); another node or a user owns that destination (" + failure->code() +
               ")");
    }
    // Said "duplicate" yet not listed: a destination that overlaps another entry, or a race
    // with a delete. Let the caller's reconcile loop come back to it.
    fail(error_kind::transient, "CreateRouteEntry " + route.destination.to_string() + " in " +
                                    route.route_table_id + " answered " + failure->code() +
                                    " but no entry for that destination is listed");
  }

  task<void> delete_route_entry(route_spec route) {
    auto* rpc_ptr = co_await client();
    auto& rpc = *rpc_ptr;
    auto params = region_params();
    params["RouteTableId"] = route.route_table_id;
    if (!route.route_entry_id.empty()) {
      params["RouteEntryId"] = route.route_entry_id;
    } else {
      params["DestinationCidrBlock"] = route.destination.to_string();
      if (!route.next_hop_id.empty()) params["NextHopId"] = route.next_hop_id;
    }
    try {
      auto body = co_await rpc.call("DeleteRouteEntry", params);
      parse_request_id(body, "DeleteRouteEntry");
    } catch (const api_error& e) {
      if (e.error_class() != api_error_class::not_found) throw;
      o_.log.log(log_level::debug,
                 "route " + route.destination.to_string() + " in " + route.route_table_id +
                     " was already gone",
                 {{"table", route.route_table_id}, {"subnet", route.destination.to_string()}});
    }
  }

  // ---- batch_route_api: CreateRouteEntries / DeleteRouteEntries (VPC flavour only) ---------
  //
  // Up to max_routes_per_batch routes of one VPC in one call; each route's outcome is in the
  // result's items (see route_batch_item), in the order given. Creates send each route's
  // name/description. Deletes name an entry by destination and next hop, and by route_entry_id
  // too when set (exactly that entry). An empty batch sends nothing.

  task<route_batch_result> create_route_entries(std::vector<route_spec> routes) {
    return send_batch("CreateRouteEntries", std::move(routes), batch_mode::apply);
  }
  task<route_batch_result> create_route_entries(std::vector<route_spec> routes, batch_mode mode) {
    return send_batch("CreateRouteEntries", std::move(routes), mode);
  }
  task<route_batch_result> delete_route_entries(std::vector<route_spec> routes) {
    return send_batch("DeleteRouteEntries", std::move(routes), batch_mode::apply);
  }
  task<route_batch_result> delete_route_entries(std::vector<route_spec> routes, batch_mode mode) {
    return send_batch("DeleteRouteEntries", std::move(routes), mode);
  }

  // ---- extras ------------------------------------------------------------------------------

  const aliyun_options& options() const noexcept { return o_; }
  metadata_client<S>& metadata() noexcept { return *metadata_; }
  credential_chain<S>& credential_source() noexcept { return *creds_; }
  // What the OpenAPI client has done so far (zero before its first call): for metrics.
  client_counters counters() const noexcept { return rpc_ ? rpc_->counters() : client_counters{}; }

  // The endpoint used (resolving the region from metadata when needed).
  task<std::string> endpoint() {
    auto* rpc = co_await client();
    co_return rpc->endpoint().to_string();
  }

 private:
  static bool unsupported_action(const api_error& e) {
    const auto& c = e.code();
    return c.starts_with("InvalidAction") || c.starts_with("UnsupportedOperation") ||
           c == "InvalidApi.NotFound" || (c.empty() && e.http_status() == 404);
  }

  param_map region_params() const { return {{"RegionId", region_}}; }

  // Retries are rpc_client's. A batch refused whole (Throttling, TaskConflict, ...) changed
  // nothing: sending it again is safe. An ambiguous failure (no answer, a timeout, a 5xx) may
  // come after the service applied it, and batches have no ClientToken; it is sent again anyway,
  // because the service judges each entry on its own: an entry the lost copy created answers
  // VPC_ROUTE_ENTRY_STATUS_ERROR (still Pending) or VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE, one it
  // deleted VPC_ROUTER_ENTRY_NOT_EXIST. That makes the resend harmless only because the caller
  // checks a duplicate's next hop before calling it success (batch_route_api's contract).
  task<route_batch_result> send_batch(std::string action, std::vector<route_spec> routes,
                                      batch_mode mode) {
    if (o_.flavour == api_flavour::ecs)
      fail(error_kind::invalid_argument,
           action +
               ": the ECS API (2014-05-26, the ecs flavour) has no batch route actions; use the "
               "VPC flavour, or create_route_entry / delete_route_entry per route");
    if (routes.size() > max_routes_per_batch)
      fail(error_kind::invalid_argument,
           action + ": " + std::to_string(routes.size()) + " routes, the service takes at most " +
               std::to_string(max_routes_per_batch) + " per call: split the batch");
    if (routes.empty()) co_return route_batch_result{};
    auto* rpc_ptr = co_await client();
    auto& rpc = *rpc_ptr;
    const bool create = action == "CreateRouteEntries";
    auto params = region_params();
    for (std::size_t i = 0; i < routes.size(); ++i) {
      const auto& r = routes[i];
      const auto n = "RouteEntries." + std::to_string(i + 1) + ".";
      params[n + "RouteTableId"] = r.route_table_id;
      if (create) {
        params[n + "DstCidrBlock"] = r.destination.to_string();
        params[n + "NextHop"] = r.next_hop_id;
        params[n + "NextHopType"] = r.next_hop_type.empty() ? "Instance" : r.next_hop_type;
        if (!r.name.empty()) params[n + "Name"] = r.name;
        if (!r.description.empty()) params[n + "Description"] = r.description;
      } else {
        // With the id, the destination and next hop too: the service then deletes the entry
        // only if it still is that route, and a failure names the route it is about.
        if (!r.route_entry_id.empty()) params[n + "RouteEntryId"] = r.route_entry_id;
        params[n + "DstCidrBlock"] = r.destination.to_string();
        if (!r.next_hop_id.empty()) params[n + "NextHop"] = r.next_hop_id;
      }
    }
    if (mode == batch_mode::dry_run) params["DryRun"] = "true";
    std::string body;
    std::optional<std::string> dry_run_passed;  // its RequestId
    try {
      body = co_await rpc.call(action, params);
    } catch (const api_error& e) {
      // A dry run that passes is an error answer, DryRunOperation; one that fails says why.
      if (mode != batch_mode::dry_run || e.code() != "DryRunOperation") throw;
      dry_run_passed = e.request_id();
    }
    if (dry_run_passed) {
      route_batch_result out;
      out.request_id = *dry_run_passed;
      out.dry_run = true;
      for (auto& r : routes)
        out.items.push_back({std::move(r), {}, {}});
      co_return out;
    }
    if (mode == batch_mode::dry_run)  // the result then says dry_run == false
      o_.log.log(log_level::warning,
                 action + " with DryRun=true answered success: the service applied the batch");
    auto out =
        attribute_batch_answer(std::move(routes), parse_route_entries_batch(body, action), action);
    o_.log.log(log_level::debug,
               action + ": " + std::to_string(out.accepted_count()) + " of " +
                   std::to_string(out.items.size()) + " routes accepted",
               {{"request_id", out.request_id}});
    co_return out;
  }

  // The OpenAPI client, created on first use (the region may come from metadata).
  task<rpc_client<S>*> client() {
    if (rpc_) co_return rpc_.get();
    co_await creds_->ensure();
    std::string region = o_.region;
    if (region.empty()) {
      auto me = co_await metadata_->identity();
      region = me.region_id;
    }
    if (!rpc_) {  // another call may have finished this while we awaited
      region_ = region;
      auto endpoint = http::url::parse(
          o_.vpc_endpoint.empty() ? default_endpoint(o_.flavour, region) : o_.vpc_endpoint);
      http::client_options co;
      co.tls.ca_file = o_.ca_file;
      co.connect_timeout = o_.connect_timeout;
      co.request_timeout = o_.request_timeout;
      co.user_agent = o_.user_agent;
      rpc_options ro;
      ro.api_version = o_.flavour == api_flavour::ecs ? "2014-05-26" : "2016-04-28";
      ro.signature = o_.signature;
      ro.retry = o_.retry;
      auto* chain = creds_.get();
      rpc_ = std::make_unique<rpc_client<S>>(
          s_, endpoint, transport_(endpoint, co), [chain] { return chain->current(); }, ro, o_.log);
    }
    co_return rpc_.get();
  }

  task<std::vector<std::string>> route_table_ids_from_list(std::string vrouter_id) {
    std::vector<std::string> ids;
    for (std::int64_t page = 1;; ++page) {
      auto params = region_params();
      params["RouterId"] = vrouter_id;
      params["RouterType"] = "VRouter";
      params["PageNumber"] = std::to_string(page);
      params["PageSize"] = std::to_string(o_.page_size);
      auto body = co_await rpc_->call("DescribeRouteTableList", params);
      auto a = parse_describe_route_table_list(body);
      for (const auto& t : a.tables)
        if (std::find(ids.begin(), ids.end(), t.route_table_id) == ids.end())
          ids.push_back(t.route_table_id);
      if (!next_page(a.total_count, page, a.tables.size())) break;
    }
    co_return ids;
  }

  task<std::vector<std::string>> route_table_ids_from_vrouters(std::string vrouter_id) {
    std::vector<std::string> ids;
    for (std::int64_t page = 1;; ++page) {
      auto params = region_params();
      params["VRouterId"] = vrouter_id;
      params["PageNumber"] = std::to_string(page);
      params["PageSize"] = std::to_string(o_.page_size);
      auto body = co_await rpc_->call("DescribeVRouters", params);
      auto a = parse_describe_vrouters(body);
      for (const auto& r : a.vrouters) {
        if (r.vrouter_id != vrouter_id) continue;
        for (const auto& id : r.route_table_ids)
          if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
      if (!next_page(a.total_count, page, a.vrouters.size())) break;
    }
    if (ids.empty())
      fail(error_kind::not_found,
           "VRouter " + vrouter_id + " has no route table (DescribeVRouters)");
    co_return ids;
  }

  task<std::vector<route_entry>> entries_from_entry_list(std::string table_id,
                                                         route_entry_filter filter) {
    describe_route_entry_list_answer listed;
    // A whole table listed again is about as long as the last time (a page of room to grow): its
    // room is taken at once, not grown page by page (moving every entry again at each doubling).
    if (filter.empty())
      listed.entries.reserve(whole_table_entries_ + static_cast<std::size_t>(o_.entry_page_size));
    std::string token;
    std::set<std::string> seen_tokens;
    for (;;) {
      auto params = region_params();
      params["RouteTableId"] = table_id;
      params["MaxResult"] = std::to_string(o_.entry_page_size);
      if (filter.destination) params["DestinationCidrBlock"] = filter.destination->to_string();
      if (!filter.next_hop_id.empty()) params["NextHopId"] = filter.next_hop_id;
      if (!token.empty()) params["NextToken"] = token;
      auto body = co_await rpc_->call("DescribeRouteEntryList", params);
      auto& entries = listed.entries;
      const auto page = static_cast<std::ptrdiff_t>(entries.size());
      parse_describe_route_entry_list_into(body, listed);
      for (auto it = entries.begin() + page; it != entries.end(); ++it)
        if (it->route_table_id.empty()) it->route_table_id = table_id;
      entries.erase(std::remove_if(entries.begin() + page, entries.end(),
                                   [&](const route_entry& e) {
                                     return e.route_table_id != table_id || !filter.matches(e);
                                   }),
                    entries.end());
      if (listed.next_token.empty()) break;
      if (!seen_tokens.insert(listed.next_token).second)
        fail(error_kind::parse, "DescribeRouteEntryList for " + table_id +
                                    " returned a NextToken it had already returned");
      token = listed.next_token;
    }
    if (filter.empty()) whole_table_entries_ = listed.entries.size();
    co_return std::move(listed.entries);
  }

  // DescribeRouteTables pages route tables, each with all its entries (some servers page the
  // entries instead): keep every entry once, by destination, until the pages run out.
  task<std::vector<route_entry>> entries_from_route_tables(std::string table_id) {
    std::vector<route_entry> out;
    std::set<net::ipv4_cidr, cidr_less> seen;
    bool found = false;
    for (std::int64_t page = 1;; ++page) {
      auto params = region_params();
      params["RouteTableId"] = table_id;
      params["PageNumber"] = std::to_string(page);
      params["PageSize"] = std::to_string(o_.page_size);
      auto body = co_await rpc_->call("DescribeRouteTables", params);
      auto a = parse_describe_route_tables(body);
      std::size_t added = 0;
      for (auto& t : a.tables) {
        if (t.route_table_id != table_id) continue;
        found = true;
        for (auto& e : t.entries)
          if (seen.insert(e.destination).second) {
            out.push_back(std::move(e));
            ++added;
          }
      }
      if (added == 0 || !next_page(a.total_count, page, a.tables.size())) break;
    }
    if (!found)
      fail(error_kind::not_found, "route table " + table_id + " not found in region " + region_ +
                                      " (DescribeRouteTables)");
    co_return out;
  }

  // Whether page+1 exists: by TotalCount when given, else while pages come back full.
  bool next_page(std::optional<std::int64_t> total, std::int64_t page, std::size_t got) const {
    if (got == 0) return false;
    if (total) return page * o_.page_size < *total;
    return got >= static_cast<std::size_t>(o_.page_size);
  }

  // A full table: say which, how full, and what to do. Never returns.
  task<void> explain_quota(const route_spec& route, const api_error& e) {
    std::string count = "?";
    try {
      auto entries = co_await list_route_entries(route.route_table_id);
      count = std::to_string(std::count_if(entries.begin(), entries.end(), [](const auto& x) {
        return x.type == route_entry_type::custom;
      }));
    } catch (const error&) {
      // The explanation is best effort; the quota error is what matters.
    }
    fail(error_kind::exhausted,
         "route table " + route.route_table_id + " is full: cannot add " +
             route.destination.to_string() + " (" + count + " custom entries, " +
             (o_.route_table_quota > 0 ? "quota " + std::to_string(o_.route_table_quota)
                                       : std::string("the table's quota")) +
             "; the service answered " + e.code() + ": " + e.api_message() +
             "); request a quota increase or use the vxlan backend");
  }

  struct cidr_less {
    bool operator()(const net::ipv4_cidr& a, const net::ipv4_cidr& b) const noexcept {
      return a.network().value() != b.network().value() ? a.network().value() < b.network().value()
                                                        : a.prefix_length() < b.prefix_length();
    }
  };

  S& s_;
  aliyun_options o_;
  transport_factory transport_;
  std::unique_ptr<metadata_client<S>> metadata_;
  std::unique_ptr<credential_chain<S>> creds_;
  std::unique_ptr<rpc_client<S>> rpc_;
  std::string region_;
  bool no_route_table_list_ = false;
  bool no_route_entry_list_ = false;
  std::size_t whole_table_entries_ = 0;  // in the last whole-table DescribeRouteEntryList
};

using aliyun_route_api = basic_aliyun_route_api<asio_scheduler>;

static_assert(cloud_route_api<aliyun_route_api>);
static_assert(cloud_route_api<basic_aliyun_route_api<virtual_scheduler>>);
static_assert(batch_route_api<aliyun_route_api>);
static_assert(batch_route_api<basic_aliyun_route_api<virtual_scheduler>>);

}  // namespace alivpc::cloud
