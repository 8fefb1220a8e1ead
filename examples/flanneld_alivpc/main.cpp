// flanneld_alivpc: flannel's ali-vpc backend as a daemon. It takes a subnet lease from etcd
// (flannel's layout) and keeps a route "subnet -> this instance" in the VPC route tables.
//
// Composition: etcd_store (v3/v2 over Beast) + aliyun_route_api (OpenAPI over Beast + OpenSSL)
// + rtnetlink_host + asio_scheduler, each observed for /metrics, under basic_backend.
// Exit codes: 0 clean shutdown (SIGTERM/SIGINT), 1 fatal error (after saying why), 2 usage.
#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/backend/basic_backend.hpp>
#include <alivpc/backend/wait_for_config.hpp>
#include <alivpc/cloud/aliyun_route_api.hpp>
#include <alivpc/cloud/observed_route_api.hpp>
#include <alivpc/lease/etcd_store.hpp>
#include <alivpc/lease/observed_store.hpp>
#include <alivpc/lease/subnet_file.hpp>
#include <alivpc/netlink/rtnetlink_host.hpp>
#include <alivpc/runtime/asio_scheduler.hpp>
#include <alivpc/runtime/log.hpp>

#include <boost/asio/signal_set.hpp>

#include <flanneld_alivpc/build_info.hpp>  // generated: ALIVPC_VERSION, ALIVPC_GIT_COMMIT
#include <flanneld_alivpc/daemon_flags.hpp>
#include <flanneld_alivpc/health_server.hpp>
#include <flanneld_alivpc/ip_masq.hpp>
#include <flanneld_alivpc/log_format.hpp>
#include <flanneld_alivpc/metrics.hpp>
#include <flanneld_alivpc/route_table_census.hpp>

#include <openssl/crypto.h>

#include <unistd.h>  // environ (with _GNU_SOURCE)

#include <cstdio>
#include <ctime>
#include <iostream>

namespace {

using namespace alivpc;
using namespace flanneld_alivpc;

using cloud_api = cloud::basic_aliyun_route_api<asio_scheduler>;
using store_t = lease::observed_store<lease::etcd_store, call_counter>;
using cloud_t = cloud::observed_route_api<cloud_api, call_counter>;
using census_t = route_table_census<cloud_t>;
using backend_t =
    backend::basic_backend<store_t, census_t, netlink::rtnetlink_host, asio_scheduler>;

// --version and alivpc_build_info: the version from CMake's project(), the commit when built
// from a git checkout, and the OpenSSL linked in.
std::string version_text() {
  std::string commit = ALIVPC_GIT_COMMIT;
  return std::string("flanneld_alivpc ") + ALIVPC_VERSION +
         " (ali-vpc backend, flannel-compatible)\ncommit: " +
         (commit.empty() ? "unknown (not built from a git checkout)" : commit) + "\n" +
         OpenSSL_version(OPENSSL_VERSION) + "\n";
}

std::map<std::string, std::string> flanneld_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("FLANNELD_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

struct daemon_state {
  daemon_flags flags;
  logger log;
  boost::asio::io_context io;
  asio_scheduler sched{io};
  call_counter etcd_calls{"etcd"}, cloud_calls{"cloud"};
  std::unique_ptr<lease::etcd_store> etcd;
  std::unique_ptr<store_t> store;
  std::unique_ptr<cloud_api> raw_cloud;
  std::unique_ptr<cloud_t> cloud;
  std::unique_ptr<census_t> census;
  netlink::rtnetlink_host host;
  std::unique_ptr<backend_t> backend;
  std::unique_ptr<health_server> health;
  async_event<asio_scheduler> stop_requested{sched};
  std::optional<net::ipv4_cidr> masq_subnet;  // the subnet the --ip-masq rules name now
  int exit_code = 0;

  lease::etcd_options etcd_options() const {
    lease::etcd_options o;
    o.endpoints.clear();
    for (auto& e : flags.etcd_endpoints)
      o.endpoints.push_back(alivpc::http::url::parse(e));
    o.prefix = flags.etcd_prefix;
    o.http.tls.ca_file = flags.etcd_cafile;
    o.http.tls.cert_file = flags.etcd_certfile;
    o.http.tls.key_file = flags.etcd_keyfile;
    if (!flags.etcd_username.empty())
      o.http.basic_auth = std::pair{flags.etcd_username, flags.etcd_password};
    o.http.log = log.child("etcd");  // a refused or hung endpoint is said at once
    return o;
  }

  cloud::aliyun_options cloud_options(const config::network_config& cfg) {
    cloud::aliyun_options o;
    o.vpc_endpoint = flags.vpc_endpoint;
    o.ca_file = flags.vpc_ca_file;
    o.signature = flags.signature_version == "v1" ? cloud::signature_version::v1
                                                  : cloud::signature_version::v3;
    o.metadata.base_url = flags.metadata_endpoint;
    auto setting = [&](const char* key) -> std::string {
      auto it = cfg.backend.settings.find(key);
      if (it == cfg.backend.settings.end() || it->is_null()) return {};
      if (!it->is_string())
        fail(error_kind::invalid_argument,
             std::string("network config: Backend.") + key + ": expected a string");
      return it->get<std::string>();
    };
    o.credentials.access_key_id = setting("AccessKeyID");
    o.credentials.access_key_secret = cloud::secret(setting("AccessKeySecret"));
    if (flags.strategy == "classic") o.retry = cloud::retry_options::single_attempt();
    o.route_table_quota = flags.route_table_quota;
    o.log = log.child("cloud");
    return o;
  }

  std::chrono::seconds release_timeout() const { return backend_options().release_timeout; }

  backend::backend_options backend_options() const {
    backend::backend_options o;
    o.iface.ifaces = flags.iface;
    o.iface.iface_regexes = flags.iface_regex;
    o.iface.public_ip = flags.public_ip;
    o.subnet_file = flags.subnet_file;
    o.ip_masq = flags.ip_masq;
    o.lease_ttl = flags.lease_ttl;
    o.renew_margin = std::chrono::minutes(flags.subnet_lease_renew_margin);
    o.reconcile_period = flags.reconcile_period;
    o.error_backoff_max = flags.error_backoff_max;
    o.mode = flags.strategy == "classic" ? backend::strategy::classic : backend::strategy::robust;
    o.release_on_exit = flags.release_on_exit;
    o.next_hop_type = flags.next_hop_type;
    o.next_hop_id = flags.next_hop_id;
    o.writer = flags.route_writer == "leader" ? backend::route_writer::leader
                                              : backend::route_writer::self;
    o.leader_candidate = flags.leader_candidate;
    o.leader_ttl = flags.leader_ttl;
    o.batch_window = flags.batch_window;
    o.stale_route_grace = flags.stale_route_grace;
    o.collect_dry_run = flags.collect_dry_run;
    o.route_table_quota = static_cast<std::size_t>(std::max(0, flags.route_table_quota));
    return o;
  }

  // The network config, waiting for it (and for etcd) as flanneld does; a bad config is fatal.
  task<void> run() {
    etcd = std::make_unique<lease::etcd_store>(sched, etcd_options(),
                                               lease::parse_etcd_api(flags.etcd_api));
    store = std::make_unique<store_t>(*etcd, etcd_calls);
    auto cfg = co_await backend::wait_for_network_config(*store, sched, stop_requested, log);
    if (!cfg) co_return;
    log.info(etcd->selection_reason());
    config::require_ali_vpc(*cfg);
    raw_cloud = std::make_unique<cloud_api>(sched, io, cloud_options(*cfg));
    cloud = std::make_unique<cloud_t>(*raw_cloud, cloud_calls);
    census = std::make_unique<census_t>(*cloud);
    backend = std::make_unique<backend_t>(sched, *store, *census, host, backend_options(),
                                          log.child("backend"));
    backend->on_ready([this](const backend::backend_status& st) {
      if (!st.ready) return;
      log.info("ready: lease " + st.current_lease->subnet.to_string(),
               {{"subnet", st.current_lease->subnet.to_string()}});
      if (flags.ip_masq) follow_lease_with_masq_rules(st.current_lease->subnet);
    });
    backend_network_ = cfg->network;
    if (!stop_requested.is_set()) co_await backend->run(*cfg);
    if (flags.release_on_exit && !backend->status().released && backend->status().current_lease) {
      log.error("--release-on-exit: " + backend->status().last_error);
      exit_code = 1;
    }
    io.stop();  // a lease watch may still be pending: nothing more to wait for
  }

  // --ip-masq rules name our subnet: when the lease moves, the old subnet's rules go and the new
  // one's come (the Network-wide rules stay).
  void follow_lease_with_masq_rules(net::ipv4_cidr subnet) {
    if (masq_subnet == subnet) return;
    if (!iptables_available()) {
      if (!masq_subnet)
        log.warn(
            "--ip-masq: the iptables command is not installed; no masquerade rules were set up");
      masq_subnet = subnet;
      return;
    }
    if (masq_subnet) {
      if (auto err = remove_masq_rules(*backend_network_, *masq_subnet); !err.empty())
        log.error("--ip-masq: removing the rules of " + masq_subnet->to_string() + ": " + err);
      else
        log.info("--ip-masq: removed the rules of the old subnet " + masq_subnet->to_string());
    }
    if (auto err = apply_masq_rules(*backend_network_, subnet); !err.empty()) {
      log.error("--ip-masq: " + err);
      return;  // tried again at the next readiness change
    }
    masq_subnet = subnet;
    log.info("--ip-masq: masquerade rules in place for " + subnet.to_string() +
             " (chain FLANNEL-POSTRTG)");
  }

  std::optional<net::ipv4_cidr> backend_network_;

  // For /metrics: what the alerting rules need beyond the backend's status.
  flanneld_alivpc::operator_facts operator_facts() const {
    flanneld_alivpc::operator_facts f;
    f.version = ALIVPC_VERSION;
    f.commit = ALIVPC_GIT_COMMIT;
    f.openssl = OpenSSL_version(OPENSSL_VERSION);
    f.renew_margin = std::chrono::minutes(flags.subnet_lease_renew_margin);
    if (raw_cloud) f.credentials_expiry = raw_cloud->credential_source().expiration();
    f.route_table_quota = flags.route_table_quota;  // or what the route leader learned
    if (census) f.route_table_entries = census->custom_entries();
    if (backend)  // the route leader's listings are the freshest
      for (auto& [table, usage] : backend->status().tables) {
        f.route_table_entries[table] = usage.entries;
        if (!f.route_table_quota) f.route_table_quota = static_cast<int>(usage.quota);
      }
    return f;
  }
};

}  // namespace

int main(int argc, char** argv) {
  daemon_state d;
  try {
    d.flags = parse_flags(std::vector<std::string>(argv + 1, argv + argc), flanneld_environment());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flanneld_alivpc: %s\n", e.what());
    return 2;
  }
  if (d.flags.help) {
    std::fputs(help_text().c_str(), stdout);
    return 0;
  }
  if (d.flags.version) {
    std::fputs(version_text().c_str(), stdout);
    return 0;
  }
  log_level level = log_level::info;
  parse_log_level(d.flags.log_level, level);
  d.log = make_logger(d.flags.log_format == "json" ? log_format::json : log_format::text, level);
  // An unwritable --subnet-file must stop us now, before a lease is taken or a route made.
  try {
    lease::check_subnet_file_writable(d.flags.subnet_file);
  } catch (const std::exception& e) {
    d.log.error(std::string("fatal: --subnet-file: ") + e.what());
    return 1;
  }

  boost::asio::signal_set signals(d.io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    d.log.info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
               ": shutting down");
    d.stop_requested.set();
    if (d.backend) d.backend->stop();
    // Without --release-on-exit nothing is cleaned up (lease and routes stay, as flanneld), so
    // a call still in flight is not waited for: the daemon ends within a second in every phase.
    // --release-on-exit gets its own budget, and exit code 1 when it could not finish. The
    // backend stops at its own deadline, but a pass already in flight then still runs the
    // client's retries (up to about 7 s): the outer budget leaves room for that, so that the
    // backend, not this timer, says what is left.
    const bool releasing =
        d.flags.release_on_exit && d.backend && d.backend->status().current_lease;
    const auto budget = releasing ? d.release_timeout() + std::chrono::seconds(10)
                                  : clock_duration(std::chrono::milliseconds(800));
    d.sched.call_at(d.sched.now() + budget, [&, releasing] {
      if (releasing) {
        d.log.error("--release-on-exit did not finish in time: the lease of " +
                    d.backend->status().current_lease->subnet.to_string() +
                    " is kept (it expires after its TTL) and its routes may remain");
        d.exit_code = 1;
      } else {
        d.log.info("not waiting for calls still in flight");
      }
      d.io.stop();
    });
  });

  try {
    if (d.flags.healthz_port) {
      auto addr = boost::asio::ip::make_address(d.flags.healthz_ip);
      d.health = std::make_unique<health_server>(
          d.io, tcp::endpoint(addr, d.flags.healthz_port),
          health_server::handlers{
              [&]() -> std::pair<bool, std::string> {
                if (!d.backend) return {false, "starting: no network config yet"};
                auto& st = d.backend->status();
                if (st.healthy()) return {true, ""};
                return {false,
                        st.last_error.empty() ? std::string("not ready yet") : st.last_error};
              },
              [&]() -> std::string {
                static const backend::backend_status empty;
                return render_metrics(
                    d.backend ? d.backend->status() : empty, d.cloud_calls, d.etcd_calls,
                    std::chrono::system_clock::now(),
                    d.raw_cloud ? d.raw_cloud->counters() : cloud::client_counters{},
                    d.operator_facts());
              }},
          health_server::limits{}, d.log.child("healthz"));
      d.log.info("serving /healthz and /metrics on " + d.flags.healthz_ip + ":" +
                 std::to_string(d.health->local_endpoint().port()));
    }
  } catch (const std::exception& e) {
    d.log.error(std::string("cannot serve /healthz on ") + d.flags.healthz_ip + ":" +
                std::to_string(d.flags.healthz_port) + ": " + e.what());
    return 1;
  }

  spawn(d.sched, d.run(), [&](const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      d.log.error(std::string("fatal: ") + ex.what());
    }
    d.exit_code = 1;
    d.io.stop();
  });
  d.io.run();
  d.log.info(d.exit_code == 0 ? "stopped" : "exiting after a fatal error");
  return d.exit_code;
}
