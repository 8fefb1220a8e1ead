// A simulated cluster: one VPC model, one etcd model and N nodes, each running the real
// basic_backend on the virtual scheduler. Nodes can be killed (their in-flight calls fail and
// their coroutines end, as a process that dies) and restarted (a fresh backend, same instance).
#pragma once

#include <alivpc/backend/basic_backend.hpp>
#include <alivpc/lease/memory_store.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/sim/fake_host_network.hpp>
#include <alivpc/sim/vpc_model.hpp>
#include <alivpc/sim/vpc_route_client.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace alivpc::sim {

// A kill switch around a policy: once the node is dead every call, and every answer still in
// flight, ends in error_kind::cancelled, so the backend's coroutine unwinds instead of acting.
struct life {
  bool dead = false;
  void check() const {
    if (dead) fail(error_kind::cancelled, "the node was killed");
  }
};

template <class Store>
class killable_store {
 public:
  killable_store(Store inner, std::shared_ptr<life> l)
      : inner_(std::move(inner)), life_(std::move(l)) {}
  task<config::network_config> get_network_config() {
    co_return co_await guard(inner_.get_network_config());
  }
  task<lease::lease_list> list_leases() { co_return co_await guard(inner_.list_leases()); }
  task<lease::lease> acquire_lease(const config::network_config& cfg,
                                   const lease::lease_attrs& attrs,
                                   std::optional<net::ipv4_cidr> previous,
                                   std::chrono::seconds ttl) {
    co_return co_await guard(inner_.acquire_lease(cfg, attrs, previous, ttl));
  }
  task<lease::lease> renew_lease(const lease::lease& l, std::chrono::seconds ttl) {
    co_return co_await guard(inner_.renew_lease(l, ttl));
  }
  task<void> revoke_lease(const lease::lease& l) {
    life_->check();
    co_await inner_.revoke_lease(l);
  }
  task<lease::watch_result> watch_leases(std::int64_t revision) {
    co_return co_await guard(inner_.watch_leases(revision));
  }

 private:
  template <class T>
  task<T> guard(task<T> t) {
    life_->check();
    auto r = co_await std::move(t);
    life_->check();
    co_return r;
  }
  Store inner_;
  std::shared_ptr<life> life_;
};

template <class Cloud>
class killable_cloud {
 public:
  killable_cloud(Cloud inner, std::shared_ptr<life> l)
      : inner_(std::move(inner)), life_(std::move(l)) {}
  task<void> ensure_credentials() { co_await guard_void(inner_.ensure_credentials()); }
  task<cloud::instance_identity> identity() { co_return co_await guard(inner_.identity()); }
  task<cloud::vpc_info> describe_vpc(const std::string& id) {
    co_return co_await guard(inner_.describe_vpc(id));
  }
  task<std::vector<std::string>> list_route_table_ids(const std::string& id) {
    co_return co_await guard(inner_.list_route_table_ids(id));
  }
  task<std::vector<cloud::route_entry>> list_route_entries(const std::string& id) {
    co_return co_await guard(inner_.list_route_entries(id));
  }
  task<void> create_route_entry(const cloud::route_spec& r) {
    co_await guard_void(inner_.create_route_entry(r));
  }
  task<void> delete_route_entry(const cloud::route_spec& r) {
    co_await guard_void(inner_.delete_route_entry(r));
  }

 private:
  template <class T>
  task<T> guard(task<T> t) {
    life_->check();
    auto r = co_await std::move(t);
    life_->check();
    co_return r;
  }
  task<void> guard_void(task<void> t) {
    life_->check();
    co_await std::move(t);
    life_->check();
  }
  Cloud inner_;
  std::shared_ptr<life> life_;
};

using sim_store = killable_store<lease::memory_store<virtual_scheduler>>;
using sim_cloud = killable_cloud<vpc_route_client<virtual_scheduler>>;
using sim_backend =
    backend::basic_backend<sim_store, sim_cloud, fake_host_network, virtual_scheduler>;

static_assert(lease::lease_store<sim_store>);
static_assert(cloud::cloud_route_api<sim_cloud>);

struct cluster_options {
  std::string region = "cn-hangzhou";
  net::ipv4_cidr vpc_cidr = net::ipv4_cidr::parse("192.168.0.0/16");
  std::string network_config = R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})";
  backend::backend_options backend;  // subnet_file is cleared: simulated nodes keep no files
  retry_policy cloud_retry;
  bool verbose = false;  // print every node's log lines
};

class cluster {
 public:
  struct node {
    int index = 0;
    std::string instance_id;
    net::ipv4_address private_ip;
    fake_host_network host;
    std::shared_ptr<life> alive;
    std::unique_ptr<sim_store> store;
    std::unique_ptr<sim_cloud> cloud;
    std::unique_ptr<sim_backend> backend;
    bool running = false;
    bool finished = false;  // run() returned or threw
    std::string fatal;      // what run() threw, if anything
    std::optional<time_point> started_at, first_ready_at;
    std::vector<std::unique_ptr<sim_backend>> graveyard;  // killed backends (frames may still run)
  };

  cluster(virtual_scheduler& s, vpc_model& model, lease::memory_etcd<virtual_scheduler>& etcd,
          cluster_options o = {})
      : s_(s), model_(model), etcd_(etcd), o_(std::move(o)) {
    o_.backend.subnet_file.clear();
    auto& vpc = model_.add_vpc(o_.region, o_.vpc_cidr);
    vpc_id_ = vpc.id;
    auto& vsw = model_.add_vswitch(vpc.id, o_.region + "-h", o_.vpc_cidr);
    vswitch_id_ = vsw.id;
    etcd_.put_config(o_.network_config);
  }
  ~cluster() { shutdown(); }

  const std::string& vpc_id() const noexcept { return vpc_id_; }
  std::vector<std::unique_ptr<node>>& nodes() noexcept { return nodes_; }

  // Adds a node (an ECS instance with one interface and a default route); does not start it.
  node& add_node() {
    auto n = std::make_unique<node>();
    n->index = static_cast<int>(nodes_.size());
    char id[32];
    std::snprintf(id, sizeof id, "i-sim%05d", n->index);
    n->instance_id = id;
    n->private_ip = net::ipv4_address(o_.vpc_cidr.network().value() + 10 +
                                      static_cast<std::uint32_t>(n->index));
    model_.add_instance(n->instance_id, vswitch_id_, n->private_ip);
    int eth0 = n->host.add_link("eth0", 1500);
    n->host.add_address(eth0, n->private_ip, o_.vpc_cidr.prefix_length());
    netlink::route_info def;
    def.destination = net::ipv4_cidr::parse("0.0.0.0/0");
    def.gateway = net::ipv4_address(o_.vpc_cidr.network().value() + 1);
    def.output_link_index = eth0;
    n->host.add_route(def);
    nodes_.push_back(std::move(n));
    return *nodes_.back();
  }

  void start(node& n) {
    if (n.running) return;
    n.alive = std::make_shared<life>();
    n.store = std::make_unique<sim_store>(
        lease::memory_store<virtual_scheduler>(etcd_, n.instance_id), n.alive);
    n.cloud = std::make_unique<sim_cloud>(
        vpc_route_client<virtual_scheduler>(s_, model_, n.instance_id, "sim", o_.cloud_retry),
        n.alive);
    logger log;
    if (o_.verbose) {
      log = logger(
          [this, name = n.instance_id](log_level l, std::string_view, std::string_view m) {
            std::printf("%10.3fs %s %s: %.*s\n",
                        std::chrono::duration<double>(s_.now().time_since_epoch()).count(),
                        name.c_str(), std::string(to_string(l)).c_str(), static_cast<int>(m.size()),
                        m.data());
          },
          log_level::info);
    }
    n.backend = std::make_unique<sim_backend>(s_, *n.store, *n.cloud, n.host, o_.backend, log);
    n.running = true;
    n.finished = false;
    n.fatal.clear();
    n.started_at = s_.now();
    n.backend->on_ready([this, &n](const backend::backend_status& st) {
      if (st.ready && !n.first_ready_at) n.first_ready_at = s_.now();
    });
    spawn(s_, run_node(n, *n.backend), [](std::exception_ptr) {});
  }

  // The process dies: nothing more is sent, nothing is cleaned up (lease and routes stay).
  void kill(node& n) {
    if (!n.running) return;
    n.alive->dead = true;
    n.backend->stop();
    n.running = false;
    n.graveyard.push_back(std::move(n.backend));
  }

  // SIGTERM: the backend returns at its next step.
  void stop(node& n) {
    if (n.running) n.backend->stop();
  }

  // Stops everything and lets every coroutine end, so no frame outlives the cluster.
  void shutdown() {
    for (auto& n : nodes_) {
      if (n->running) kill(*n);
    }
    s_.run_for(std::chrono::minutes(10));
  }

 private:
  task<void> run_node(node& n, sim_backend& b) {
    try {
      auto cfg = co_await n.store->get_network_config();
      co_await b.run(cfg);
    } catch (const error& e) {
      if (e.kind() != error_kind::cancelled) n.fatal = e.what();
    } catch (const std::exception& e) {
      n.fatal = e.what();
    }
    n.finished = true;
  }

  virtual_scheduler& s_;
  vpc_model& model_;
  lease::memory_etcd<virtual_scheduler>& etcd_;
  cluster_options o_;
  std::string vpc_id_, vswitch_id_;
  std::vector<std::unique_ptr<node>> nodes_;
};

}  // namespace alivpc::sim
