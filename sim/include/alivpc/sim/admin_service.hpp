// The emulator's admin endpoints for tests and operators, /_emulator/<op>: GET stats and world
// (the whole model as JSON); POST delete-route and create-route (behind the API's back), quota,
// write-delay, fail (a fault rate per action) and outage (a timed one).
#pragma once

#include <alivpc/detail/percent_encoding.hpp>
#include <alivpc/error.hpp>
#include <alivpc/sim/http_exchange.hpp>
#include <alivpc/sim/openapi_service.hpp>
#include <alivpc/sim/vpc_model.hpp>

#include <chrono>
#include <cstring>
#include <string>

namespace alivpc::sim {

class admin_service {
 public:
  explicit admin_service(vpc_model& model) : model_(model) {}

  http_answer handle(const http_request& req, time_point now) {
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

  // The Kind of fail and outage (and of the emulator's --fail flag).
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

  // GET /_emulator/world: VPCs, their route tables with every entry, and the instances.
  json world_json(time_point now) {
    json vpcs = json::array();
    for (const auto& [id, v] : model_.vpcs()) {
      json tables = json::array();
      for (const auto& tid : v.table_ids) {
        json entries = json::array();
        for (const auto& e : model_.entries(tid, now))
          entries.push_back(route_entry_json(e, now, true));
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
  vpc_model& model_;
};

}  // namespace alivpc::sim
