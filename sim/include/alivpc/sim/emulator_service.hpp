// The emulator's request handling without sockets: one HTTP request in, one answer out.
// Routes /metadata/<instance-id>/latest/... (ECS metadata), /_emulator/... (admin for tests) and
// everything else to the OpenAPI RPC actions of the VPC (2016-04-28) and ECS (2014-05-26) APIs,
// answered from a vpc_model. Takes (wall time, monotonic time) per request; owns no clock.
#pragma once

#include <alivpc/sim/credentials.hpp>
#include <alivpc/sim/request_parser.hpp>
#include <alivpc/sim/vpc_model.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>

namespace alivpc::sim {

using json = nlohmann::ordered_json;

struct http_request {
  std::string method;
  std::string target;
  header_list headers;
  std::string body;
};

struct http_answer {
  int status = 200;
  std::string content_type = "application/json;charset=utf-8";
  std::string body;
  bool drop = false;       // close the connection without an answer (injected fault)
  bool hang = false;       // never answer; close after 10 minutes (injected timeout)
  clock_duration delay{};  // answer after this (modelled latency)
  std::string action;      // for the log: action or "metadata:<key>" / "admin:<op>"
  std::string outcome;     // "Success" or the error code
};

struct emulator_options {
  std::string ram_role = "alivpc-node";  // empty: the instances have no RAM role
  std::chrono::seconds sts_ttl{3600};
  bool metadata_token_required = false;  // hardened mode only
};

class emulator_service {
 public:
  emulator_service(vpc_model& model, credential_store& keys, emulator_options opts = {},
                   std::uint64_t seed = 0)
      : model_(model), keys_(keys), opts_(std::move(opts)), rng_(seed ^ 0xe3u) {}

  emulator_options& options() noexcept { return opts_; }

  http_answer handle(const http_request& req, wall_time wall, time_point now) {
    std::string_view target = req.target;
    try {
      if (target.starts_with("/metadata/")) return metadata(req, wall);
      if (target.starts_with("/_emulator/")) return admin(req, now);
      return api(req, wall, now);
    } catch (const std::exception& e) {
      // An emulator bug must show as an answer, never as a dead server.
      http_answer a;
      a.status = 500;
      a.body = json{{"RequestId", new_request_id()},
                    {"HostId", "vpc.aliyuncs.com"},
                    {"Code", "InternalError"},
                    {"Message", std::string("emulator failure: ") + e.what()}}
                   .dump();
      a.action = "Unknown";
      a.outcome = "EmulatorFailure";
      return a;
    }
  }

 private:
  // ---- OpenAPI -------------------------------------------------------------------------------

  http_answer api(const http_request& req, wall_time wall, time_point now) {
    auto request_id = new_request_id();
    auto parsed = parse_api_request(req.method, req.target, req.headers, req.body);
    std::string host = "vpc.aliyuncs.com";
    if (auto* e = std::get_if<api_error>(&parsed))
      return error_answer(*e, "Unknown", request_id, host, now);
    auto& r = std::get<api_request>(parsed);
    if (r.product == api_product::ecs) host = "ecs.aliyuncs.com";
    if (auto e = keys_.verify(r, wall)) return error_answer(*e, r.action, request_id, host, now);
    try {
      if (auto gate = model_.admit(r.action, r.access_key_id, now); gate != admission::proceed) {
        http_answer a;
        a.drop = gate == admission::drop;
        a.hang = gate == admission::timeout;
        a.action = r.action;
        a.outcome = a.drop ? "Dropped" : "TimedOut";
        model_.stats().record(r.action, a.outcome);
        a.delay = model_.draw_latency(r.action);
        return a;
      }
      json body = dispatch(r, now);
      json out = {{"RequestId", request_id}};
      for (auto& [k, v] : body.items())
        out[k] = v;
      model_.stats().record(r.action, "Success");
      http_answer a;
      a.body = out.dump();
      a.action = r.action;
      a.outcome = "Success";
      a.delay = model_.draw_latency(r.action);
      return a;
    } catch (const api_failure& f) {
      auto e = f.error();
      if (r.product == api_product::ecs && e.code == "RouterEntryConflict.Duplicated")
        e.code = "InvalidCIDRBlock.Duplicate";
      return error_answer(e, r.action, request_id, host, now);
    }
  }

  http_answer error_answer(const api_error& e, const std::string& action,
                           const std::string& request_id, const std::string& host, time_point) {
    model_.stats().record(action, e.code);
    http_answer a;
    a.status = e.http_status;
    a.body =
        json{{"RequestId", request_id}, {"HostId", host}, {"Code", e.code}, {"Message", e.message}}
            .dump();
    a.action = action;
    a.outcome = e.code;
    a.delay = model_.draw_latency(action);
    return a;
  }

  json dispatch(const api_request& r, time_point now) {
    const auto& a = r.action;
    if (a == "DescribeVpcs") return describe_vpcs(r);
    if (a == "DescribeVRouters") return describe_vrouters(r);
    if (a == "DescribeRouteTables") return describe_route_tables(r, now);
    if (a == "DescribeRouteTableList") return describe_route_table_list(r);
    if (a == "DescribeRouteEntryList") return describe_route_entry_list(r, now);
    if (a == "CreateRouteEntry") {
      auto id = model_.create_route_entry(
          {param(r, "RouteTableId"), param(r, "DestinationCidrBlock"), param(r, "NextHopType"),
           param(r, "NextHopId"), client_token(r)},
          now);
      return r.product == api_product::vpc ? json{{"RouteEntryId", id}} : json::object();
    }
    if (a == "DeleteRouteEntry") {
      auto entry_id = param(r, "RouteEntryId");
      if (entry_id.empty() && param(r, "RouteTableId").empty())
        throw api_failure(missing_parameter("RouteTableId"));
      model_.delete_route_entry({param(r, "RouteTableId"), param(r, "DestinationCidrBlock"),
                                 param(r, "NextHopId"), entry_id},
                                now);
      return json::object();
    }
    throw api_failure(404, "InvalidAction.NotFound",
                      "Specified api is not found, please check your url and method.");
  }

  static std::string param(const api_request& r, const std::string& name) {
    auto it = r.params.find(name);
    return it == r.params.end() ? std::string() : it->second;
  }
  static std::string client_token(const api_request& r) {
    auto t = param(r, "ClientToken");
    if (t.size() > 64)
      throw api_failure(invalid_parameter("ClientToken", "at most 64 ASCII characters"));
    for (unsigned char c : t)
      if (c < 0x20 || c > 0x7e) throw api_failure(invalid_parameter("ClientToken", "ASCII only"));
    return t;
  }
  static long number(const api_request& r, const std::string& name, long dflt, long lo, long hi) {
    auto text = param(r, name);
    if (text.empty()) return dflt;
    long v = 0;
    if (text.size() > 9) throw api_failure(invalid_parameter(name, "out of range"));
    for (char c : text) {
      if (c < '0' || c > '9') throw api_failure(invalid_parameter(name, "not a number"));
      v = v * 10 + (c - '0');
    }
    if (v < lo || v > hi)
      throw api_failure(
          invalid_parameter(name, "must be " + std::to_string(lo) + ".." + std::to_string(hi)));
    return v;
  }
  void require_region(const api_request& r) {
    auto region = param(r, "RegionId");
    if (region.empty()) throw api_failure(missing_parameter("RegionId"));
    if (!model_.has_region(region))
      throw api_failure(404, "InvalidRegionId.NotFound", "The specified RegionId does not exist.");
  }
  static std::vector<std::string> id_list(const std::string& text) {
    return alivpc::detail::split_list(text);
  }
  static bool matches(const std::vector<std::string>& filter, const std::string& id) {
    return filter.empty() || std::find(filter.begin(), filter.end(), id) != filter.end();
  }

  // PageNumber (from 1) / PageSize (1..50, default 10) over `items`; adds the paging fields.
  template <class T, class F>
  json paged(const api_request& r, const std::vector<T>& items, const char* outer,
             const char* inner, F to_json) {
    auto number_ = number(r, "PageNumber", 1, 1, 100000000);
    auto size = number(r, "PageSize", 10, 1, 50);
    json list = json::array();
    auto first = static_cast<std::size_t>((number_ - 1) * size);
    for (auto i = first; i < items.size() && i < first + static_cast<std::size_t>(size); ++i)
      list.push_back(to_json(items[i]));
    return json{{"TotalCount", items.size()},
                {"PageNumber", number_},
                {"PageSize", size},
                {outer, json{{inner, list}}}};
  }

  json describe_vpcs(const api_request& r) {
    require_region(r);
    auto filter = id_list(param(r, "VpcId"));
    std::vector<const vpc_record*> found;
    for (const auto& [id, v] : model_.vpcs())
      if (v.region_id == param(r, "RegionId") && matches(filter, id)) found.push_back(&v);
    return paged(r, found, "Vpcs", "Vpc", [&](const vpc_record* v) {
      return json{{"VpcId", v->id},
                  {"RegionId", v->region_id},
                  {"Status", "Available"},
                  {"VpcName", ""},
                  {"CreationTime", "2026-01-01T00:00:00Z"},
                  {"CidrBlock", v->cidr.to_string()},
                  {"VRouterId", v->vrouter_id},
                  {"Description", ""},
                  {"IsDefault", false},
                  {"VSwitchIds", json{{"VSwitchId", v->vswitch_ids}}},
                  {"RouterTableIds", json{{"RouterTableIds", v->table_ids}}}};
    });
  }

  json describe_vrouters(const api_request& r) {
    require_region(r);
    auto filter = id_list(param(r, "VRouterId"));
    std::vector<const vpc_record*> found;
    for (const auto& [id, v] : model_.vpcs())
      if (v.region_id == param(r, "RegionId") && matches(filter, v.vrouter_id)) found.push_back(&v);
    return paged(r, found, "VRouters", "VRouter", [&](const vpc_record* v) {
      return json{{"VRouterId", v->vrouter_id},
                  {"VpcId", v->id},
                  {"RegionId", v->region_id},
                  {"VRouterName", ""},
                  {"Description", ""},
                  {"CreationTime", "2026-01-01T00:00:00Z"},
                  {"RouteTableIds", json{{"RouteTableId", v->table_ids}}}};
    });
  }

  json entry_json(const route_entry_record& e, time_point now, bool with_id) {
    json j{{"RouteTableId", e.table_id}, {"DestinationCidrBlock", e.destination.to_string()}};
    if (with_id) j["RouteEntryId"] = e.id;
    j["Type"] = e.system ? "System" : "Custom";
    j["NextHopType"] = e.next_hop_type;
    j["InstanceId"] = e.next_hop_id;
    j["Status"] = to_api_string(e.status(now));
    j["NextHops"] = json{{"NextHop", json::array()}};
    return j;
  }

  json describe_route_tables(const api_request& r, time_point now) {
    auto vrouter = param(r, "VRouterId");
    auto table_id = param(r, "RouteTableId");
    if (!vrouter.empty() && !model_.find_vpc_by_vrouter(vrouter))
      throw api_failure(404, "InvalidVRouterId.NotFound",
                        "The specified VRouter " + vrouter + " does not exist.");
    if (!table_id.empty() && !model_.find_table(table_id))
      throw api_failure(404, "InvalidRouteTableId.NotFound",
                        "The specified route table " + table_id + " does not exist.");
    std::vector<const route_table_record*> found;
    for (const auto& [vid, v] : model_.vpcs()) {
      if (!vrouter.empty() && v.vrouter_id != vrouter) continue;
      for (const auto& tid : v.table_ids)
        if (table_id.empty() || tid == table_id) found.push_back(model_.find_table(tid));
    }
    return paged(r, found, "RouteTables", "RouteTable", [&](const route_table_record* t) {
      json entries = json::array();
      for (const auto& e : model_.entries(t->id, now))
        entries.push_back(entry_json(e, now, false));
      return json{{"VRouterId", t->vrouter_id},
                  {"RouteTableId", t->id},
                  {"RouteTableType", t->system ? "System" : "Custom"},
                  {"CreationTime", "2026-01-01T00:00:00Z"},
                  {"RouteEntrys", json{{"RouteEntry", entries}}}};
    });
  }

  json describe_route_table_list(const api_request& r) {
    require_region(r);
    auto vpc = param(r, "VpcId");
    auto router = param(r, "RouterId");
    auto table_id = param(r, "RouteTableId");
    auto type = param(r, "RouteTableType");
    auto router_type = param(r, "RouterType");
    if (!router_type.empty() && router_type != "VRouter")
      throw api_failure(invalid_parameter("RouterType", "VRouter is the only router type here"));
    if (!vpc.empty() && !model_.find_vpc(vpc))
      throw api_failure(404, "InvalidVpcId.NotFound",
                        "The specified VPC " + vpc + " does not exist.");
    std::vector<const route_table_record*> found;
    for (const auto& [vid, v] : model_.vpcs()) {
      if (v.region_id != param(r, "RegionId") || (!vpc.empty() && vid != vpc) ||
          (!router.empty() && v.vrouter_id != router))
        continue;
      for (const auto& tid : v.table_ids) {
        auto* t = model_.find_table(tid);
        if ((table_id.empty() || tid == table_id) &&
            (type.empty() || type == (t->system ? "System" : "Custom")))
          found.push_back(t);
      }
    }
    json out{{"Code", "200"}, {"Success", true}, {"Message", "successful"}};
    // A named local: a temporary's items() would dangle in the loop.
    json page =
        paged(r, found, "RouterTableList", "RouterTableListType", [&](const route_table_record* t) {
          return json{{"RouteTableId", t->id},
                      {"RouteTableType", t->system ? "System" : "Custom"},
                      {"RouterId", t->vrouter_id},
                      {"RouterType", "VRouter"},
                      {"VpcId", t->vpc_id},
                      {"RouteTableName", ""},
                      {"Description", ""},
                      {"Status", "Available"},
                      {"CreationTime", "2026-01-01T00:00:00Z"},
                      {"VSwitchIds", json{{"VSwitchId", t->vswitch_ids}}}};
        });
    for (auto& [k, v] : page.items())
      out[k] = v;
    return out;
  }

  json describe_route_entry_list(const api_request& r, time_point now) {
    auto table_id = param(r, "RouteTableId");
    if (table_id.empty()) throw api_failure(missing_parameter("RouteTableId"));
    auto max = number(r, "MaxResult", 10, 1, 100);
    auto dest = param(r, "DestinationCidrBlock");
    auto hop = param(r, "NextHopId");
    auto type = param(r, "RouteEntryType");
    auto entry_id = param(r, "RouteEntryId");
    std::uint64_t from = 0;
    auto token = param(r, "NextToken");
    if (!token.empty()) {
      if (token.size() > 16) throw api_failure(invalid_parameter("NextToken", "unknown token"));
      for (char c : token) {
        int v = alivpc::detail::hex_value(c);
        if (v < 0) throw api_failure(invalid_parameter("NextToken", "unknown token"));
        from = from * 16 + static_cast<std::uint64_t>(v);
      }
    }
    if (!dest.empty() && !net::ipv4_cidr::try_parse(dest))
      throw api_failure(
          400, "InvalidCidrBlock.Malformed",
          "Specified DestinationCidrBlock \"" + dest + "\" is not a valid CIDR block.");
    auto all = model_.entries(table_id, now);  // throws InvalidRouteTableId.NotFound
    json list = json::array();
    std::string next;
    for (const auto& e : all) {
      // The token is the (network, prefix) key of the first entry of the next page.
      std::uint64_t key = (std::uint64_t{e.destination.network().value()} << 8) |
                          static_cast<std::uint64_t>(e.destination.prefix_length());
      if (key < from) continue;
      if ((!dest.empty() && e.destination.to_string() != net::ipv4_cidr::parse(dest).to_string()) ||
          (!hop.empty() && e.next_hop_id != hop) ||
          (!type.empty() && type != (e.system ? "System" : "Custom")) ||
          (!entry_id.empty() && e.id != entry_id))
        continue;
      if (static_cast<long>(list.size()) == max) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(key));
        next = buf;
        break;
      }
      json j{{"RouteEntryId", e.id},
             {"RouteTableId", e.table_id},
             {"DestinationCidrBlock", e.destination.to_string()},
             {"Status", to_api_string(e.status(now))},
             {"Type", e.system ? "System" : "Custom"},
             {"IpVersion", "ipv4"},
             {"RouteEntryName", ""},
             {"Description", ""}};
      json hops = json::array();
      if (!e.system)
        hops.push_back(json{{"NextHopId", e.next_hop_id},
                            {"NextHopType", e.next_hop_type},
                            {"Enabled", 1},
                            {"Weight", 0}});
      else
        hops.push_back(
            json{{"NextHopId", ""}, {"NextHopType", "local"}, {"Enabled", 1}, {"Weight", 0}});
      j["NextHops"] = json{{"NextHop", hops}};
      list.push_back(j);
    }
    return json{{"NextToken", next}, {"RouteEntrys", json{{"RouteEntry", list}}}};
  }

  // ---- ECS metadata --------------------------------------------------------------------------

  static http_answer text(int status, std::string body, std::string action, std::string outcome) {
    http_answer a;
    a.status = status;
    a.content_type = "text/plain";
    a.body = std::move(body);
    a.action = std::move(action);
    a.outcome = std::move(outcome);
    return a;
  }
  static std::string header_of(const http_request& req, std::string_view name) {
    for (const auto& [k, v] : req.headers)
      if (alivpc::detail::lower(k) == name) return alivpc::detail::trim(v);
    return {};
  }

  http_answer metadata(const http_request& req, wall_time wall) {
    std::string_view rest = std::string_view(req.target).substr(std::strlen("/metadata/"));
    rest = rest.substr(0, rest.find('?'));
    auto slash = rest.find('/');
    std::string instance_id(rest.substr(0, slash));
    std::string_view path =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    const instance_record* inst = model_.find_instance(instance_id);
    if (!inst)
      return text(404, "404 - Not Found (no such emulated instance)", "metadata", "NotFound");
    if (path == "/latest/api/token") {
      if (req.method != "PUT")
        return text(405, "405 - Method Not Allowed", "metadata:token", "MethodNotAllowed");
      auto ttl_text = header_of(req, "x-aliyun-ecs-metadata-token-ttl-seconds");
      long ttl = 0;
      bool ok = !ttl_text.empty() && ttl_text.size() <= 5;
      for (char c : ttl_text)
        ok = ok && c >= '0' && c <= '9';
      if (ok) ttl = std::stol(ttl_text);
      if (!ok || ttl < 1 || ttl > 21600)
        return text(400,
                    "400 - Bad Request (X-aliyun-ecs-metadata-token-ttl-seconds must be 1..21600)",
                    "metadata:token", "BadRequest");
      std::string token;
      for (int i = 0; i < 48; ++i)
        token += "0123456789abcdef"[rng_.below(16)];
      metadata_tokens_[token] = wall + std::chrono::seconds(ttl);
      return text(200, token, "metadata:token", "Success");
    }
    if (req.method != "GET")
      return text(405, "405 - Method Not Allowed", "metadata", "MethodNotAllowed");
    auto token = header_of(req, "x-aliyun-ecs-metadata-token");
    if (!token.empty() || opts_.metadata_token_required) {
      auto it = metadata_tokens_.find(token);
      if (it == metadata_tokens_.end() || it->second <= wall)
        return text(401, "401 - Unauthorized", "metadata", "Unauthorized");
    }
    constexpr std::string_view base = "/latest/meta-data/";
    if (!path.starts_with(base)) return text(404, "404 - Not Found", "metadata", "NotFound");
    std::string key(path.substr(base.size()));
    const auto* vpc = model_.find_vpc(inst->vpc_id);
    const auto& vsw = model_.vswitches().at(inst->vswitch_id);
    std::map<std::string, std::string> plain{{"instance-id", inst->id},
                                             {"region-id", inst->region_id},
                                             {"zone-id", inst->zone_id},
                                             {"vpc-id", inst->vpc_id},
                                             {"vswitch-id", inst->vswitch_id},
                                             {"private-ipv4", inst->private_ip.to_string()},
                                             {"vpc-cidr-block", vpc ? vpc->cidr.to_string() : ""},
                                             {"vswitch-cidr-block", vsw.cidr.to_string()},
                                             {"mac", inst->mac},
                                             {"hostname", inst->id},
                                             {"network-type", "vpc"}};
    std::string log = "metadata:" + key.substr(0, key.find('/'));
    if (key.empty()) {
      std::string listing;
      for (const auto& [k, v] : plain)
        listing += k + "\n";
      listing += "ram/";
      return text(200, listing, log, "Success");
    }
    if (auto it = plain.find(key); it != plain.end()) return text(200, it->second, log, "Success");
    if (key == "ram/" || key == "ram") return text(200, "security-credentials/", log, "Success");
    constexpr std::string_view creds = "ram/security-credentials/";
    if (key.starts_with(creds) && !opts_.ram_role.empty()) {
      auto role = key.substr(creds.size());
      if (role.empty()) return text(200, opts_.ram_role, log, "Success");
      if (role == opts_.ram_role) return sts_credentials(inst->id, wall, log);
    }
    return text(404, "404 - Not Found", log, "NotFound");
  }

  // The same STS key is served until less than half its lifetime is left, as the real service
  // hands out one key for a while and a fresh one well before expiry.
  http_answer sts_credentials(const std::string& instance_id, wall_time wall,
                              const std::string& log) {
    auto& current = sts_by_instance_[instance_id];
    const access_key* key = current.empty() ? nullptr : keys_.find(current);
    if (!key || *key->expiration - wall < opts_.sts_ttl / 2) {
      key = &keys_.issue_sts(wall, opts_.sts_ttl);
      current = key->id;
      sts_issued_at_[key->id] = wall;
    }
    json out{{"AccessKeyId", key->id},
             {"AccessKeySecret", key->secret},
             {"Expiration", cloud::format_timestamp(*key->expiration)},
             {"SecurityToken", key->security_token},
             {"LastUpdated", cloud::format_timestamp(sts_issued_at_[key->id])},
             {"Code", "Success"}};
    http_answer a = text(200, out.dump(2), log, "Success");
    a.content_type = "text/plain";
    return a;
  }

  // ---- admin ---------------------------------------------------------------------------------

  http_answer admin(const http_request& req, time_point now) {
    auto qmark = req.target.find('?');
    std::string op = req.target.substr(
        std::strlen("/_emulator/"),
        qmark == std::string::npos ? std::string::npos : qmark - std::strlen("/_emulator/"));
    auto params = alivpc::detail::decode_params(
                      qmark == std::string::npos ? std::string_view()
                                                 : std::string_view(req.target).substr(qmark + 1))
                      .value_or(cloud::param_map{});
    auto get = [&](const char* k) {
      auto it = params.find(k);
      return it == params.end() ? std::string() : it->second;
    };
    auto answer = [&](int status, const json& body) {
      http_answer a;
      a.status = status;
      a.body = body.dump();
      a.action = "admin:" + op;
      a.outcome = status == 200 ? "Success" : "Error";
      return a;
    };
    try {
      if (req.method == "GET" && op == "stats") {
        json actions = json::object();
        for (const auto& [action, outcomes] : model_.stats().by_action) {
          json o = json::object();
          for (const auto& [name, n] : outcomes)
            o[name] = n;
          actions[action] = o;
        }
        return answer(200, json{{"Actions", actions}});
      }
      if (req.method == "GET" && op == "world") return answer(200, world_json(now));
      if (req.method != "POST") return answer(405, json{{"Error", "use GET stats|world or POST"}});
      if (op == "delete-route") {
        auto dest = net::ipv4_cidr::try_parse(get("DestinationCidrBlock"));
        bool removed = dest && model_.force_delete(get("RouteTableId"), *dest);
        return answer(removed ? 200 : 404, json{{"Removed", removed}});
      }
      if (op == "create-route") {
        auto dest = net::ipv4_cidr::try_parse(get("DestinationCidrBlock"));
        auto hop_type = get("NextHopType").empty() ? std::string("Instance") : get("NextHopType");
        if (!dest || !model_.force_create(get("RouteTableId"), *dest, hop_type, get("NextHopId")))
          return answer(400, json{{"Error", "need RouteTableId, DestinationCidrBlock, NextHopId"}});
        return answer(200, json{{"Created", true}});
      }
      if (op == "quota") {
        model_.config().quota_per_table = static_cast<std::size_t>(std::stoul(get("Value")));
        return answer(200, json{{"Quota", model_.config().quota_per_table}});
      }
      if (op == "write-delay") {
        model_.config().write_delay = std::chrono::milliseconds(std::stol(get("Milliseconds")));
        return answer(200, json{{"WriteDelayMs", std::stol(get("Milliseconds"))}});
      }
      if (op == "fail") {
        auto action = get("Action").empty() ? std::string("*") : get("Action");
        std::erase_if(model_.config().faults,
                      [&](const fault_rule& f) { return f.action == action; });
        double rate = std::stod(get("Rate"));
        if (rate > 0)
          model_.config().faults.push_back({action, rate, parse_fault_kind(get("Kind"))});
        return answer(200, json{{"Action", action}, {"Rate", rate}});
      }
      if (op == "outage") {
        auto action = get("Action").empty() ? std::string("*") : get("Action");
        auto ms = std::stol(get("Milliseconds"));
        model_.config().outages.push_back({now, now + std::chrono::milliseconds(ms), action,
                                           get("Kind").empty() ? fault_kind::service_unavailable
                                                               : parse_fault_kind(get("Kind"))});
        return answer(200, json{{"Action", action}, {"Milliseconds", ms}});
      }
    } catch (const std::exception& e) {
      return answer(400, json{{"Error", std::string("bad admin parameters: ") + e.what()}});
    }
    return answer(404, json{{"Error", "unknown admin endpoint " + op}});
  }

 public:
  static fault_kind parse_fault_kind(const std::string& s) {
    if (s.empty() || s == "InternalError") return fault_kind::internal_error;
    if (s == "ServiceUnavailable") return fault_kind::service_unavailable;
    if (s == "Throttling") return fault_kind::throttling;
    if (s == "Drop") return fault_kind::drop;
    if (s == "Timeout") return fault_kind::timeout;
    fail(error_kind::invalid_argument,
         "fault kind \"" + s +
             "\": expected InternalError, ServiceUnavailable, Throttling, Drop or Timeout");
  }

  json world_json(time_point now) {
    json vpcs = json::array();
    for (const auto& [id, v] : model_.vpcs()) {
      json tables = json::array();
      for (const auto& tid : v.table_ids) {
        json entries = json::array();
        for (const auto& e : model_.entries(tid, now))
          entries.push_back(entry_json(e, now, true));
        tables.push_back(
            json{{"RouteTableId", tid},
                 {"RouteTableType", model_.find_table(tid)->system ? "System" : "Custom"},
                 {"RouteEntrys", entries}});
      }
      vpcs.push_back(json{{"VpcId", id},
                          {"RegionId", v.region_id},
                          {"CidrBlock", v.cidr.to_string()},
                          {"VRouterId", v.vrouter_id},
                          {"RouteTables", tables}});
    }
    json instances = json::array();
    for (const auto& [id, i] : model_.instances())
      instances.push_back(json{{"InstanceId", id},
                               {"VpcId", i.vpc_id},
                               {"VSwitchId", i.vswitch_id},
                               {"PrivateIpAddress", i.private_ip.to_string()},
                               {"NetworkInterfaceId", i.eni_id}});
    return json{{"Vpcs", vpcs}, {"Instances", instances}};
  }

 private:
  std::string new_request_id() {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string id;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) id += '-';
      id += hex[rng_.below(16)];
    }
    return id;
  }

  vpc_model& model_;
  credential_store& keys_;
  emulator_options opts_;
  prng rng_;
  std::map<std::string, wall_time> metadata_tokens_;
  std::map<std::string, std::string> sts_by_instance_;
  std::map<std::string, wall_time> sts_issued_at_;
};

}  // namespace alivpc::sim
