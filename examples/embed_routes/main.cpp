// embed_routes: the alivpc library inside your own C++ network agent, on your own io_context.
//
// It composes the etcd lease store and the Alibaba Cloud route policy under basic_backend, which
// takes a subnet lease (flannel's etcd layout) and keeps one VPC route "subnet -> this instance"
// in place until SIGINT/SIGTERM. One policy is swapped for our own: `audited_routes` wraps the
// cloud policy, prints every route write and refuses writes outside the agent's network, and
// observed_route_api counts the calls. Any model of a policy concept fits the same slot.
//
//   ACCESS_KEY_ID=... ACCESS_KEY_SECRET=... embed_routes ETCD_URL [METADATA_URL [VPC_URL
//       [PUBLIC_IP [SUBNET_FILE]]]]
// The network config must be in etcd (e.g. `etcdctl set /coreos.com/network/config
// '{"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}}'`).
#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/backend/basic_backend.hpp>
#include <alivpc/cloud/aliyun_route_api.hpp>
#include <alivpc/cloud/observed_route_api.hpp>
#include <alivpc/lease/etcd_store.hpp>
#include <alivpc/netlink/rtnetlink_host.hpp>
#include <alivpc/runtime/asio_scheduler.hpp>

#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <iostream>
#include <map>

using namespace alivpc;

// A custom cloud policy: a decorator that models cloud::cloud_route_api over another model.
// Reads pass through; writes are printed, and refused outside `allowed` (a guard rail an agent
// may want: this process never touches routes it does not own).
template <cloud::cloud_route_api Inner>
class audited_routes {
 public:
  audited_routes(Inner& inner, net::ipv4_cidr allowed) : inner_(inner), allowed_(allowed) {}

  task<void> ensure_credentials() { return inner_.ensure_credentials(); }
  task<cloud::instance_identity> identity() { return inner_.identity(); }
  task<cloud::vpc_info> describe_vpc(const std::string& id) { return inner_.describe_vpc(id); }
  task<std::vector<std::string>> list_route_table_ids(const std::string& id) {
    return inner_.list_route_table_ids(id);
  }
  task<std::vector<cloud::route_entry>> list_route_entries(
      const std::string& id, const cloud::route_entry_filter& filter) {
    return inner_.list_route_entries(id, filter);
  }
  task<void> create_route_entry(const cloud::route_spec& r) { return write("create", r, true); }
  task<void> delete_route_entry(const cloud::route_spec& r) { return write("delete", r, false); }

 private:
  task<void> write(const char* what, cloud::route_spec r, bool create) {
    std::printf("audit: %s %s -> %s in %s\n", what, r.destination.to_string().c_str(),
                r.next_hop_id.c_str(), r.route_table_id.c_str());
    std::fflush(stdout);
    if (!allowed_.contains(r.destination.network()))
      fail(error_kind::permanent, "audit: refusing to " + std::string(what) + " " +
                                      r.destination.to_string() + " outside " +
                                      allowed_.to_string());
    if (create)
      co_await inner_.create_route_entry(r);
    else
      co_await inner_.delete_route_entry(r);
  }
  Inner& inner_;
  net::ipv4_cidr allowed_;
};

// observed_route_api's observer: counts calls by operation (an agent would export these).
struct call_count {
  std::map<std::string, int> calls;
  void before(std::string_view op) { ++calls[std::string(op)]; }
  void after(std::string_view, const std::exception_ptr&) {}
};

using aliyun = cloud::basic_aliyun_route_api<asio_scheduler>;
using counted = cloud::observed_route_api<aliyun, call_count>;
using audited = audited_routes<counted>;
static_assert(cloud::cloud_route_api<audited>);
using backend_type =
    backend::basic_backend<lease::etcd_store, audited, netlink::rtnetlink_host, asio_scheduler>;

int main(int argc, char** argv) {
  if (argc < 2 || argc > 6) {
    std::fprintf(stderr,
                 "usage: embed_routes ETCD_URL [METADATA_URL [VPC_URL [PUBLIC_IP "
                 "[SUBNET_FILE]]]]\n");
    return 2;
  }
  auto arg = [&](int i, const char* fallback) {
    return std::string(i < argc ? argv[i] : fallback);
  };

  boost::asio::io_context io;  // the agent's own; everything below runs on it
  asio_scheduler sched(io);
  logger log([](log_level, std::string_view who, std::string_view m) {
    std::cerr << who << ": " << m << "\n";
  });

  lease::etcd_options etcd_opts;
  etcd_opts.endpoints = {http::url::parse(argv[1])};
  lease::etcd_store store(sched, etcd_opts);  // v3 or v2, whichever holds the config

  cloud::aliyun_options cloud_opts;  // credentials: config, then environment, then RAM role
  cloud_opts.metadata.base_url = arg(2, "http://100.100.100.200");
  cloud_opts.vpc_endpoint = arg(3, "");
  aliyun api(sched, io, cloud_opts);
  call_count counter;
  counted observed(api, counter);

  netlink::rtnetlink_host host;
  backend::backend_options opts;
  if (argc > 4) opts.iface.public_ip = net::ipv4_address::parse(argv[4]);
  opts.subnet_file = arg(5, "/run/flannel/subnet.env");
  opts.reconcile_period = std::chrono::seconds(10);

  std::unique_ptr<audited> guard;
  std::unique_ptr<backend_type> backend;
  int rc = 0;

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto ec, int) {
    if (ec) return;
    if (backend)
      backend->stop();  // leaves lease and route in place
    else
      io.stop();  // still waiting for etcd: nothing to clean up
  });

  auto agent = [&]() -> task<void> {
    auto cfg = co_await store.get_network_config();
    guard = std::make_unique<audited>(observed, *cfg.network);
    backend = std::make_unique<backend_type>(sched, store, *guard, host, opts, log.child("routes"));
    backend->on_ready([](const backend::backend_status& st) {
      if (st.ready) std::printf("ready: %s\n", st.current_lease->subnet.to_string().c_str());
      std::fflush(stdout);
    });
    co_await backend->run(cfg);  // until stop()
    io.stop();                   // a pending lease watch must not keep run() going
  };
  spawn(sched, agent(), [&](const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "embed_routes: %s\n", ex.what());
    }
    rc = 1;
    io.stop();
  });
  io.run();
  for (auto& [op, n] : counter.calls)
    std::printf("calls: %s %d\n", op.c_str(), n);
  return rc;
}
