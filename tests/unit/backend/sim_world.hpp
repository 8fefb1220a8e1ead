// A simulated world for backend tests: one virtual scheduler, the VPC model, the etcd model and a
// cluster of nodes running the real basic_backend (sim/cluster.hpp), with what tests look at.
#pragma once

#include <alivpc/sim/cluster.hpp>

#include <memory>
#include <string>
#include <vector>

namespace alivpc_backend_test {

using namespace std::chrono_literals;
using namespace alivpc;

struct world {
  explicit world(std::uint64_t seed = 1, sim::cluster_options o = {})
      : s(seed), model(model_cfg(), seed), etcd(s) {
    c = std::make_unique<sim::cluster>(s, model, etcd, std::move(o));
  }
  static sim::model_config model_cfg() {
    sim::model_config m;
    m.write_delay = 3s;
    m.default_latency = sim::latency_distribution::uniform(20ms, 200ms);
    return m;
  }
  // Adds n nodes and starts each.
  void start_nodes(int n) {
    for (int i = 0; i < n; ++i)
      c->start(c->add_node());
  }
  std::string table() { return model.find_vpc(c->vpc_id())->system_table_id; }
  // Custom entries in the system table pointing at `instance`.
  std::vector<sim::route_entry_record> routes_of(const std::string& instance) {
    std::vector<sim::route_entry_record> out;
    for (auto& e : model.entries(table(), s.now()))
      if (!e.system && e.next_hop_id == instance) out.push_back(e);
    return out;
  }
  bool leased(net::ipv4_cidr subnet) { return etcd.keys().count(lease::subnet_key(subnet)) > 0; }
  void cloud_outage(clock_duration d) {
    model.config().outages.push_back(
        {s.now(), s.now() + d, "*", sim::fault_kind::service_unavailable});
  }
  // Successful route writes so far.
  std::uint64_t writes() {
    return model.stats().count("CreateRouteEntry", "Success") +
           model.stats().count("DeleteRouteEntry", "Success");
  }
  virtual_scheduler s;
  sim::vpc_model model;
  sim::memory_etcd<virtual_scheduler> etcd;
  std::unique_ptr<sim::cluster> c;
};

}  // namespace alivpc_backend_test
