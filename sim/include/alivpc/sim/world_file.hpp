// Builds a vpc_model world from JSON (alivpc-emulator --world FILE.json):
//   {"regions": [{"id": "cn-hangzhou", "vpcs": [{
//       "id": "vpc-1", "cidr": "192.168.0.0/16", "vrouter_id": "vrt-1", "route_table_id": "vtb-1",
//       "vswitches": [{"id": "vsw-1", "zone": "cn-hangzhou-h", "cidr": "192.168.0.0/24",
//                      "instances": [{"id": "i-1", "ip": "192.168.0.10"}]}],
//       "custom_route_tables": [{"id": "vtb-c1", "vswitches": ["vsw-1"]}]}]}]}
// Every id is optional (generated from the seed) except the instances'.
#pragma once

#include <alivpc/sim/vpc_model.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace alivpc::sim {

inline void load_world(vpc_model& model, const nlohmann::json& world) {
  auto str = [](const nlohmann::json& j, const char* key) {
    return j.contains(key) ? j.at(key).get<std::string>() : std::string();
  };
  try {
    for (const auto& region : world.at("regions")) {
      auto region_id = region.at("id").get<std::string>();
      for (const auto& v : region.value("vpcs", nlohmann::json::array())) {
        const auto& vpc =
            model.add_vpc(region_id, net::ipv4_cidr::parse(v.at("cidr").get<std::string>()),
                          str(v, "id"), str(v, "vrouter_id"), str(v, "route_table_id"));
        auto vpc_id = vpc.id;
        for (const auto& vs : v.value("vswitches", nlohmann::json::array())) {
          auto zone = vs.contains("zone") ? vs.at("zone").get<std::string>() : region_id + "-h";
          const auto& sw = model.add_vswitch(
              vpc_id, zone, net::ipv4_cidr::parse(vs.at("cidr").get<std::string>()), str(vs, "id"));
          auto sw_id = sw.id;
          for (const auto& i : vs.value("instances", nlohmann::json::array()))
            model.add_instance(i.at("id").get<std::string>(), sw_id,
                               net::ipv4_address::parse(i.at("ip").get<std::string>()));
        }
        for (const auto& t : v.value("custom_route_tables", nlohmann::json::array()))
          model.add_custom_table(vpc_id, t.value("vswitches", std::vector<std::string>{}),
                                 str(t, "id"));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    fail(error_kind::parse, std::string("world file: ") + e.what());
  }
}

}  // namespace alivpc::sim
