// A simulated cluster: one VPC model behind the emulator's service, one etcd model and N nodes,
// each running the daemon's code on the virtual scheduler: basic_backend over the production
// cloud client (basic_aliyun_route_api: metadata, RAM-role credentials, signing, paging, retries,
// error classification), which reaches the service through an in-process transport. Nodes can
// be killed (their in-flight calls fail and their coroutines end, as a process that dies),
// restarted (a fresh backend, same instance), and leave (the instance is terminated: killed and
// released from the VPC model, never to start again).
#pragma once

#include <alivpc/backend/basic_backend.hpp>
#include <alivpc/backend/wait_for_config.hpp>
#include <alivpc/cloud/aliyun_route_api.hpp>
#include <alivpc/cloud/observed_route_api.hpp>
#include <alivpc/lease/observed_store.hpp>
#include <alivpc/runtime/backoff.hpp>
#include <alivpc/runtime/virtual_scheduler.hpp>
#include <alivpc/sim/fake_host_network.hpp>
#include <alivpc/sim/memory_etcd.hpp>
#include <alivpc/sim/vpc_model.hpp>
#include <alivpc/sim/emulator_service.hpp>
#include <alivpc/sim/service_transport.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

// Compile time: the cluster's code instantiates the whole daemon over the simulated policies
// (basic_backend and its tasks, the production cloud client, the lease keeper, the route
// leader): over a minute of compiling at -O0 under ASan, in every file that uses it. So its
// definitions (below the class, and run_scenario's in scenario_runner.hpp) are inline and
// header-only by default, but where ALIVPC_SIM_PRECOMPILED is defined they are only declared and
// sim/src/instances.cpp (ALIVPC_SIM_INSTANCES) compiles them once, into an alivpc_sim_instances
// library whose users get ALIVPC_SIM_PRECOMPILED (sim/CMakeLists.txt: one library per set of
// compile options, as its code must be compiled like theirs). Explicit instantiation declarations
// (extern template) of basic_backend and the others would not do: GCC 12 still compiles, in each
// file, the body of every coroutine of theirs that the file calls, and that is where the time is.
#if defined(ALIVPC_SIM_INSTANCES) && !defined(ALIVPC_SIM_PRECOMPILED)
#error "sim/src/instances.cpp is compiled with ALIVPC_SIM_PRECOMPILED (see sim/CMakeLists.txt)"
#endif
#ifdef ALIVPC_SIM_PRECOMPILED
#define ALIVPC_SIM_INLINE
#else
#define ALIVPC_SIM_INLINE inline
#endif

namespace alivpc::sim {

// A kill switch observed on every call of a node's policies: once the node is dead every call,
// and every answer still in flight, ends in error_kind::cancelled, so the backend's coroutine
// unwinds instead of acting, as a process that died.
struct life {
  bool dead = false;
  std::function<void(std::string_view)> on_call;  // each call by name, as it starts
  void before(std::string_view call) const {
    check();
    if (on_call) on_call(call);
  }
  void after(std::string_view, const std::exception_ptr&) const { check(); }
  void check() const {
    if (dead) fail(error_kind::cancelled, "the node was killed");
  }
};

using sim_raw_store = memory_store<virtual_scheduler>;
using sim_raw_cloud = cloud::basic_aliyun_route_api<virtual_scheduler>;
using sim_store = lease::observed_store<sim_raw_store, life>;
using sim_cloud = cloud::observed_route_api<sim_raw_cloud, life>;
using sim_backend =
    backend::basic_backend<sim_store, sim_cloud, fake_host_network, virtual_scheduler>;

static_assert(lease::lease_store<sim_store>);
static_assert(lease::route_coordination<sim_store>);
static_assert(cloud::cloud_route_api<sim_cloud>);

// How a DaemonSet's kubelet restarts a daemon that exited: Kubernetes' CrashLoopBackOff.
struct crash_loop_policy {
  backoff_policy backoff{std::chrono::seconds(10), std::chrono::minutes(5), jitter::none};
  clock_duration reset_after = std::chrono::minutes(10);  // of running: the next exit waits 10 s
};

struct cluster_options {
  std::string region = "cn-hangzhou";
  net::ipv4_cidr vpc_cidr = net::ipv4_cidr::parse("192.168.0.0/16");
  std::string network_config = R"({"Network":"10.24.0.0/16","Backend":{"Type":"ali-vpc"}})";
  backend::backend_options backend;  // subnet_file is cleared: simulated nodes keep no files
  // The nodes' cloud client; the cluster fills in endpoints and credentials per node, and for
  // the classic strategy the original backend's ways (see classic_cloud below).
  cloud::aliyun_options cloud;
  // Restarts a daemon that exited by itself (not one the scenario killed: that node is down
  // until the scenario restarts it); none: an exited daemon stays down.
  std::optional<crash_loop_policy> supervisor;
  bool verbose = false;  // print every node's log lines
  // Leader mode: this many nodes campaign for route leader (and hold cloud credentials): the
  // first ones, and a node that joins while fewer remain (a replaced control-plane node's
  // successor); the others never do. Negative: every node.
  int leader_candidates = -1;
};

class cluster {
 public:
  struct node {
    int index = 0;
    std::string instance_id;
    net::ipv4_address private_ip;
    fake_host_network host;
    // One incarnation of the node's process: its policies, their kill switch and its backend.
    struct process {
      process(memory_etcd<virtual_scheduler>& etcd, virtual_scheduler& s,
              service_transport<virtual_scheduler>& transport, const std::string& instance_id,
              cloud::aliyun_options cloud_options);
      life alive;
      sim_raw_store raw_store;
      sim_raw_cloud raw_cloud;
      sim_store store{raw_store, alive};
      sim_cloud cloud{raw_cloud, alive};
      async_event<virtual_scheduler> stopped;  // set when the process is killed or stopped
      std::unique_ptr<sim_backend> backend;
    };
    std::unique_ptr<process> current;
    sim_backend* backend = nullptr;  // current->backend, for tests
    bool running = false;     // started and not killed (a crash-looping daemon stays running)
    bool finished = false;    // the current incarnation's run() returned or threw
    std::string fatal;        // what run() threw, if anything
    std::string first_fatal;  // of any incarnation
    int exits = 0;            // incarnations that ended by themselves
    int restarts = 0;         // by the supervisor
    backoff crash_loop;
    time_point incarnation_started{};
    std::optional<timer_id> restart_timer;
    bool stopping = false;  // stop() asked it to end: the supervisor lets it
    bool left = false;      // the instance was terminated (leave): it never starts again
    bool candidate = true;  // leader mode: campaigns for route leader
    time_point left_at{};
    std::optional<time_point> started_at, first_ready_at;  // of the first incarnation
    std::vector<std::unique_ptr<process>> graveyard;  // killed processes (frames may still run)
  };

  cluster(virtual_scheduler& s, vpc_model& model, memory_etcd<virtual_scheduler>& etcd,
          cluster_options o = {});
  ~cluster();

  const std::string& vpc_id() const noexcept { return vpc_id_; }
  emulator_service& service() noexcept { return service_; }
  const service_transport<virtual_scheduler>& transport() const noexcept { return transport_; }
  std::vector<std::unique_ptr<node>>& nodes() noexcept { return nodes_; }
  // Counts every change of a node's running, finished or ready state (a lease changes only
  // while its node is not ready): who looks at the nodes looks again only when it moved.
  std::uint64_t version() const noexcept { return version_; }
  // Leader mode's fencing, as it happened: each route write a node started while etcd's route
  // leader key was not its own (the safety checker reports them).
  std::vector<std::string> take_unfenced_writes() { return std::exchange(unfenced_writes_, {}); }

  // Adds a node (an ECS instance with one interface and a default route); does not start it.
  node& add_node();

  // Starts the node's daemon; a node that left stays down.
  void start(node& n);

  // The process dies: nothing more is sent, nothing is cleaned up (lease and routes stay).
  void kill(node& n);

  // The instance is terminated, as a cluster autoscaler or a spot reclaim does it: the daemon
  // dies without cleanup (its lease and routes stay) and the instance is released from the VPC.
  void leave(node& n);

  // How long a departed node's dead processes are kept: every wait of a killed process ends
  // within a watch's bound (stop() wakes its sleeps, its calls fail, a watch times out;
  // shutdown() drains past that bound), so after this no coroutine frame can still use them.
  static constexpr clock_duration departed_kept_for = std::chrono::hours(1);

  // SIGTERM: the backend returns at its next step.
  void stop(node& n);

  // Stops everything and lets every coroutine end, so no frame outlives the cluster.
  void shutdown();

 private:
  void launch(node& n);

  // The classic strategy's access key (the original backend read static keys from its config).
  static constexpr const char* classic_key_id = "LTAIsimclassic";
  static constexpr const char* classic_key_secret = "sim-classic-secret";

  // One node's client: its own metadata path on the service, RAM-role credentials (STS keys
  // that expire on virtual time) and the VPC API with V3 signatures, as the daemon's defaults;
  // classic runs as the original flannel backend did: ECS API, V1 signatures, static keys, no
  // retries. The endpoints are never dialled (the transport is in process); they are loopback
  // so that nothing here could reach a network even by mistake.
  cloud::aliyun_options cloud_options(const std::string& instance_id, logger log) const;

  // Records how this incarnation ended, on the node only while it is still the node's current
  // one: a killed process's coroutine may unwind after a restart and must not mark the new one.
  task<void> run_node(node& n, node::process& p);

  // Frees the processes of nodes that left over departed_kept_for ago, so that memory stays
  // flat however many nodes a long run replaces (the node itself, a few hundred bytes, stays:
  // indices do not move).
  void release_departed();

  void schedule_restart(node& n);
  void cancel_restart(node& n);

  virtual_scheduler& s_;
  vpc_model& model_;
  memory_etcd<virtual_scheduler>& etcd_;
  cluster_options o_;
  credential_store keys_;
  emulator_service service_;
  service_transport<virtual_scheduler> transport_;
  std::string vpc_id_, vswitch_id_;
  std::vector<std::unique_ptr<node>> nodes_;
  std::uint64_t version_ = 0;
  std::vector<std::string> unfenced_writes_;
  bool shutting_down_ = false;
};

// The definitions (see "Compile time" above).
#if !defined(ALIVPC_SIM_PRECOMPILED) || defined(ALIVPC_SIM_INSTANCES)

ALIVPC_SIM_INLINE cluster::node::process::process(memory_etcd<virtual_scheduler>& etcd,
                                                  virtual_scheduler& s,
                                                  service_transport<virtual_scheduler>& transport,
                                                  const std::string& instance_id,
                                                  cloud::aliyun_options cloud_options)
    : raw_store(etcd, instance_id),
      raw_cloud(s, transport.factory([this] { alive.check(); }), std::move(cloud_options)),
      stopped(s) {}

ALIVPC_SIM_INLINE cluster::cluster(virtual_scheduler& s, vpc_model& model,
                                   memory_etcd<virtual_scheduler>& etcd, cluster_options o)
    : s_(s),
      model_(model),
      etcd_(etcd),
      o_(std::move(o)),
      keys_(s.random()()),
      service_(model_, keys_, {}, s.random()()),
      transport_(s, service_) {
  o_.backend.subnet_file.clear();
  keys_.add_key(classic_key_id, classic_key_secret);
  auto& vpc = model_.add_vpc(o_.region, o_.vpc_cidr);
  vpc_id_ = vpc.id;
  auto& vsw = model_.add_vswitch(vpc.id, o_.region + "-h", o_.vpc_cidr);
  vswitch_id_ = vsw.id;
  etcd_.put_config(o_.network_config);
}

ALIVPC_SIM_INLINE cluster::~cluster() {
  shutdown();
}

ALIVPC_SIM_INLINE cluster::node& cluster::add_node() {
  release_departed();
  auto n = std::make_unique<node>();
  n->index = static_cast<int>(nodes_.size());
  if (o_.leader_candidates >= 0)
    n->candidate = std::count_if(nodes_.begin(), nodes_.end(), [](auto& m) {
                     return m->candidate && !m->left;
                   }) < o_.leader_candidates;
  char id[32];
  std::snprintf(id, sizeof id, "i-sim%05d", n->index);
  n->instance_id = id;
  n->private_ip =
      net::ipv4_address(o_.vpc_cidr.network().value() + 10 + static_cast<std::uint32_t>(n->index));
  model_.add_instance(n->instance_id, vswitch_id_, n->private_ip);
  int eth0 = n->host.add_link("eth0", 1500);
  n->host.add_address(eth0, n->private_ip, o_.vpc_cidr.prefix_length());
  netlink::route_info def;
  def.destination = net::ipv4_cidr::parse("0.0.0.0/0");
  def.gateway = net::ipv4_address(o_.vpc_cidr.network().value() + 1);
  def.output_link_index = eth0;
  n->host.add_route(def);
  if (o_.supervisor) n->crash_loop = backoff(o_.supervisor->backoff);
  nodes_.push_back(std::move(n));
  return *nodes_.back();
}

ALIVPC_SIM_INLINE void cluster::start(node& n) {
  if (n.running || n.left) return;
  launch(n);
}

ALIVPC_SIM_INLINE void cluster::kill(node& n) {
  if (!n.running) return;
  cancel_restart(n);
  n.current->alive.dead = true;
  n.current->stopped.set();
  n.backend->stop();
  n.running = false;
  ++version_;
  n.graveyard.push_back(std::move(n.current));
}

ALIVPC_SIM_INLINE void cluster::leave(node& n) {
  if (n.left) return;
  kill(n);
  n.left = true;
  n.left_at = s_.now();
  ++version_;
  model_.remove_instance(n.instance_id);
  release_departed();
}

ALIVPC_SIM_INLINE void cluster::stop(node& n) {
  if (!n.running) return;
  n.stopping = true;
  n.current->stopped.set();
  n.backend->stop();
}

ALIVPC_SIM_INLINE void cluster::shutdown() {
  shutting_down_ = true;
  for (auto& n : nodes_) {
    if (n->running) kill(*n);
  }
  // The longest wait of a killed process is a watch, until its bound.
  s_.run_for(memory_store_options{}.watch_wait + std::chrono::minutes(10));
}

ALIVPC_SIM_INLINE void cluster::launch(node& n) {
  cancel_restart(n);
  // A stopped incarnation's coroutines may still be unwinding: keep its policies alive.
  if (n.current) n.graveyard.push_back(std::move(n.current));
  logger log;
  if (o_.verbose) {
    log = logger(
        [this, name = n.instance_id](log_level l, std::string_view, std::string_view m) {
          std::printf("%10.3fs %s %s: %.*s\n",
                      std::chrono::duration<double>(s_.now().time_since_epoch()).count(),
                      name.c_str(), std::string(to_string(l)).c_str(), static_cast<int>(m.size()),
                      m.data());
        },
        getenv("ALIVPC_SIM_DEBUG") ? log_level::debug : log_level::info);
  }
  n.current = std::make_unique<node::process>(etcd_, s_, transport_, n.instance_id,
                                              cloud_options(n.instance_id, log.child("cloud")));
  auto options = o_.backend;
  options.leader_candidate = n.candidate;
  n.current->backend = std::make_unique<sim_backend>(s_, n.current->store, n.current->cloud, n.host,
                                                     std::move(options), log);
  n.backend = n.current->backend.get();
  if (o_.backend.writer == backend::route_writer::leader)
    n.current->alive.on_call = [this, &n](std::string_view call) {
      if (call != "CreateRouteEntry" && call != "DeleteRouteEntry" &&
          call != "CreateRouteEntries" && call != "DeleteRouteEntries")
        return;
      auto leader = etcd_.route_leader();
      if (!leader || !leader->starts_with(n.instance_id + " "))
        unfenced_writes_.push_back(std::string(call) + " by " + n.instance_id +
                                   " while the route leader is " +
                                   (leader ? *leader : std::string("nobody")));
    };
  n.running = true;
  n.finished = false;
  n.fatal.clear();
  n.incarnation_started = s_.now();
  n.stopping = false;
  if (!n.started_at) n.started_at = s_.now();  // ready time counts from the first start
  ++version_;
  n.backend->on_ready([this, &n](const backend::backend_status& st) {
    ++version_;
    if (st.ready && !n.first_ready_at) n.first_ready_at = s_.now();
  });
  // run_node records how the process ended. A function pointer, not a lambda: outside an inline
  // function a lambda's type has no linkage (-Wsubobject-linkage in sim/src/instances.cpp).
  void (*ignore)(const std::exception_ptr&) = [](const std::exception_ptr&) {};
  spawn(s_, run_node(n, *n.current), ignore);
}

ALIVPC_SIM_INLINE cloud::aliyun_options cluster::cloud_options(const std::string& instance_id,
                                                               logger log) const {
  auto o = o_.cloud;
  o.log = std::move(log);
  if (o.vpc_endpoint.empty()) o.vpc_endpoint = "https://127.0.0.1:8443";
  o.metadata.base_url = "http://127.0.0.1:8080/metadata/" + instance_id;
  o.credentials.use_environment = false;
  if (o_.backend.mode == backend::strategy::classic) {
    o.flavour = cloud::api_flavour::ecs;
    o.signature = cloud::signature_version::v1;
    o.retry = cloud::retry_options::single_attempt();
    o.credentials.access_key_id = classic_key_id;
    o.credentials.access_key_secret = cloud::secret(classic_key_secret);
    o.credentials.use_ram_role = false;
  }
  return o;
}

ALIVPC_SIM_INLINE task<void> cluster::run_node(node& n, node::process& p) {
  std::string fatal;
  try {
    auto cfg = co_await backend::wait_for_network_config(p.store, s_, p.stopped, p.backend->log());
    if (cfg) co_await p.backend->run(*cfg);
  } catch (const error& e) {
    if (e.kind() != error_kind::cancelled) fatal = e.what();
  } catch (const std::exception& e) {
    fatal = e.what();
  }
  // The process has exited: whatever it still had running (a lease task after a fatal
  // error) dies with it, and sends nothing more.
  p.alive.dead = true;
  p.stopped.set();
  p.backend->stop();
  if (n.current.get() != &p) co_return;
  n.fatal = fatal;
  if (n.first_fatal.empty()) n.first_fatal = fatal;
  n.finished = true;
  ++n.exits;
  ++version_;
  if (o_.supervisor && !shutting_down_ && n.running && !n.stopping) schedule_restart(n);
}

ALIVPC_SIM_INLINE void cluster::release_departed() {
  for (auto& n : nodes_)
    if (n->left && !n->graveyard.empty() && s_.now() - n->left_at >= departed_kept_for) {
      n->graveyard.clear();
      n->backend = nullptr;
    }
}

ALIVPC_SIM_INLINE void cluster::schedule_restart(node& n) {
  if (s_.now() - n.incarnation_started >= o_.supervisor->reset_after) n.crash_loop.reset();
  n.restart_timer = s_.call_at(s_.now() + n.crash_loop.next(s_.random()), [this, &n] {
    n.restart_timer.reset();
    if (!n.running || !n.finished) return;
    ++n.restarts;
    launch(n);
  });
}

ALIVPC_SIM_INLINE void cluster::cancel_restart(node& n) {
  if (n.restart_timer) s_.cancel(*n.restart_timer);
  n.restart_timer.reset();
}

#endif  // definitions

}  // namespace alivpc::sim
