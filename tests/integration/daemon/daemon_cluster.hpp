// A throwaway cluster for daemon tests: a real etcd, alivpc-emulator with one ECS instance per
// node (i-node<N> = 192.168.0.<10+N>), the network config published with `etcdctl set` (v2, as
// the seed document does), and flanneld_alivpc processes started one per node.
//
//   daemon_cluster c(with_nodes(3));
//   auto& n1 = c.start(1);                   // --reconcile-period=2s, own subnet file and log
//   ASSERT_TRUE(c.wait_ready(n1));
//   c.routes();  c.leases();  c.stats();     // what the emulator and etcd hold now
// Every daemon log is scanned for the secrets at the end of the test (they must never appear).
#pragma once

#include <utility>

#include <alivpc_test/daemon_process.hpp>
#include <alivpc_test/emulator_http.hpp>
#include <alivpc_test/emulator_process.hpp>
#include <alivpc_test/etcd_process.hpp>
#include <alivpc_test/temp_dir.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace alivpc_daemon_test {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Distinctive so that a scan of the logs cannot miss them.
inline constexpr const char* key_id = "testid";
inline constexpr const char* key_secret = "Sekrit-AccessKeySecret-4f9a1c";
inline constexpr const char* default_network_config =
    R"({"Network":"10.24.0.0/16", "Backend": {"Type": "ali-vpc"}})";

inline std::string daemon_binary() {
  return std::string(ALIVPC_BINARY_DIR) + "/examples/flanneld_alivpc/flanneld_alivpc";
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls pred every 50 ms until it holds (true) or `limit` passes (false).
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// One Custom entry of a route table as /_emulator/world shows it.
struct route {
  std::string table, destination, instance, status;
};

struct cluster_options {
  int nodes = 3;
  std::vector<std::string> emulator_args;  // after --access-key, --write-delay 200, --instance
  std::string network_config = default_network_config;
};

// (a function, not designated initializers: -Wmissing-field-initializers)
inline cluster_options with_nodes(int n, std::vector<std::string> emulator_args = {}) {
  cluster_options o;
  o.nodes = n;
  o.emulator_args = std::move(emulator_args);
  return o;
}

struct node {
  int index = 0;
  std::filesystem::path dir;
  std::unique_ptr<alivpc_test::daemon_process> process;
  std::string instance() const { return "i-node" + std::to_string(index); }
  std::filesystem::path subnet_file() const { return dir / "subnet.env"; }
};

class daemon_cluster {
 public:
  explicit daemon_cluster(cluster_options o = {}) : o_(std::move(o)), emu_(emulator_args()) {
    if (!std::filesystem::exists(daemon_binary()))
      throw std::runtime_error(daemon_binary() +
                               " is missing: build the flanneld_alivpc target first");
    etcd_.etcdctl(
        "set /coreos.com/network/config " + alivpc_test::etcd_process::quote(o_.network_config), 2);
  }
  daemon_cluster(const daemon_cluster&) = delete;
  daemon_cluster& operator=(const daemon_cluster&) = delete;

  ~daemon_cluster() {
    for (auto& [i, n] : nodes_)
      if (n.process) n.process->kill9();
    // The one check every daemon test makes: no secret in any daemon output.
    for (auto& [i, n] : nodes_) {
      auto log = read_text(n.dir / "daemon.log");
      EXPECT_EQ(log.find(key_secret), std::string::npos)
          << "node " << i << " logged the AccessKeySecret:\n"
          << log;
      for (auto& s : extra_secrets_)
        EXPECT_EQ(log.find(s), std::string::npos) << "node " << i << " logged a secret";
      if (logs_json(n)) expect_json_lines(i, log);
    }
    if (::testing::Test::HasFailure()) dump_logs();
  }

  alivpc_test::etcd_process& etcd() { return etcd_; }
  alivpc_test::emulator_process& emulator() { return emu_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  void also_secret(std::string s) { extra_secrets_.push_back(std::move(s)); }

  // The arguments every node gets; `extra` after them (a later flag wins).
  std::vector<std::string> node_args(int i) const {
    auto d = dir_.path() / ("node" + std::to_string(i));
    return {"--etcd-endpoints=" + etcd_.endpoint(),
            "--metadata-endpoint=" + emu_.url() + "/metadata/i-node" + std::to_string(i),
            "--vpc-endpoint=" + emu_.url(),
            "--public-ip=" + public_ip(i),
            "--subnet-file=" + (d / "subnet.env").string(),
            "--healthz-port=0",
            "--reconcile-period=2s"};
  }
  static std::string public_ip(int i) { return "192.168.0." + std::to_string(10 + i); }

  // Starts node i (again, with the same arguments, when it ran before and `extra` is empty).
  node& start(int i, std::vector<std::string> extra = {},
              std::map<std::string, std::string> env = {{"ACCESS_KEY_ID", key_id},
                                                        {"ACCESS_KEY_SECRET", key_secret}}) {
    auto& n = nodes_[i];
    n.index = i;
    n.dir = dir_.path() / ("node" + std::to_string(i));
    std::filesystem::create_directories(n.dir);
    if (n.process && extra.empty()) {
      n.process->start();
      return n;
    }
    auto args = node_args(i);
    args.insert(args.end(), extra.begin(), extra.end());
    n.process = std::make_unique<alivpc_test::daemon_process>(
        daemon_binary(), args,
        alivpc_test::daemon_process_options{std::move(env), n.dir / "daemon.log", {}, false});
    return n;
  }
  node& at(int i) { return nodes_.at(i); }

  // Waits for the next "ready" line after `from` log bytes (the start of this run).
  static bool wait_ready(node& n, std::chrono::milliseconds limit = 20s, std::size_t before = 0) {
    auto readies = [&] {
      return n.process->count_in_log("flanneld: ready: lease") +
             n.process->count_in_log(R"("component":"flanneld","message":"ready: lease)");
    };
    return eventually([&] { return readies() > before || !n.process->running(); }, limit) &&
           readies() > before;
  }

  // --log-format=json: every line one JSON object with the four fixed keys, time in RFC 3339 UTC.
  static bool logs_json(const node& n) {
    if (!n.process) return false;
    for (auto& a : n.process->args())
      if (a == "--log-format=json") return true;
    return false;
  }
  static void expect_json_lines(int i, const std::string& log) {
    static const std::regex rfc3339(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
    std::istringstream lines(log);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      ++n;
      auto j = json::parse(line, nullptr, false);
      ASSERT_TRUE(j.is_object()) << "node " << i << " line " << n
                                 << " is not a JSON object: " << line;
      for (const char* key : {"time", "level", "component", "message"})
        ASSERT_TRUE(j.contains(key) && j[key].is_string())
            << "node " << i << " line " << n << " has no \"" << key << "\": " << line;
      EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(), rfc3339)) << line;
    }
    EXPECT_GT(n, 0) << "node " << i << " logged nothing";
  }

  // ---- what the emulator holds ----

  json world() const { return json::parse(admin("GET", "/_emulator/world")); }
  json stats() const { return json::parse(admin("GET", "/_emulator/stats")); }
  // Answers of one action with one outcome ("Success", "QuotaExceeded", ...) so far.
  long count(const std::string& action, const std::string& outcome = "Success") const {
    auto s = stats();
    auto a = s["Actions"].find(action);
    if (a == s["Actions"].end()) return 0;
    auto o = a->find(outcome);
    return o == a->end() ? 0 : o->get<long>();
  }
  long count_all(const std::string& action) const {
    auto s = stats();
    auto a = s["Actions"].find(action);
    long n = 0;
    if (a != s["Actions"].end())
      for (auto& [k, v] : a->items())
        n += v.get<long>();
    return n;
  }

  std::vector<route> routes() const {
    std::vector<route> out;
    auto w = world();  // (a temporary in the range-for would dangle)
    for (auto& vpc : w["Vpcs"])
      for (auto& t : vpc["RouteTables"])
        for (auto& e : t["RouteEntrys"])
          if (e["Type"] == "Custom")
            out.push_back(
                {e["RouteTableId"], e["DestinationCidrBlock"], e["InstanceId"], e["Status"]});
    return out;
  }
  std::vector<std::string> route_tables() const {
    std::vector<std::string> out;
    auto w = world();  // (a temporary in the range-for would dangle)
    for (auto& vpc : w["Vpcs"])
      for (auto& t : vpc["RouteTables"])
        out.push_back(t["RouteTableId"]);
    return out;
  }

  std::string admin(const std::string& method, const std::string& target) const {
    auto r = alivpc_test::http_call(emu_.url(), method, target);
    if (r.status != 200)
      throw std::runtime_error(method + " " + target + " -> " + std::to_string(r.status) + " " +
                               r.body);
    return r.body;
  }

  // ---- what etcd holds (v2 keys API, as the daemon uses with a v2-published config) ----

  struct lease_key {
    std::string subnet;  // "10.24.5.0/24"
    std::string public_ip;
    long ttl = -1;  // seconds left; -1 for no TTL
  };
  std::vector<lease_key> leases() const {
    std::vector<lease_key> out;
    auto body = etcd_.get("/v2/keys/coreos.com/network/subnets");
    if (!body) throw std::runtime_error("etcd is not answering");
    auto j = json::parse(*body);
    if (!j.contains("node")) return out;  // errorCode 100: no subnets yet
    for (auto& n : j["node"].value("nodes", json::array())) {
      lease_key l;
      auto key = n["key"].get<std::string>();
      auto name = key.substr(key.rfind('/') + 1);
      l.subnet = name.replace(name.find('-'), 1, "/");
      l.public_ip = json::parse(n["value"].get<std::string>()).value("PublicIP", "");
      l.ttl = n.value("ttl", -1L);
      out.push_back(l);
    }
    return out;
  }
  std::optional<lease_key> lease_of(int i) const {
    for (auto& l : leases())
      if (l.public_ip == public_ip(i)) return l;
    return std::nullopt;
  }
  // FLANNEL_SUBNET of node i's subnet file turned back into the subnet ("10.24.5.0/24").
  std::string subnet_in_file(int i) const {
    auto text = read_text(dir_.path() / ("node" + std::to_string(i)) / "subnet.env");
    auto p = text.find("FLANNEL_SUBNET=");
    if (p == std::string::npos) return {};
    auto v = text.substr(p + 15, text.find('\n', p) - p - 15);  // "10.24.5.1/24"
    auto dot = v.rfind('.'), slash = v.find('/');
    return v.substr(0, dot) + ".0" + v.substr(slash);  // our subnets are /24 and larger
  }

  void dump_logs() const {
    for (auto& [i, n] : nodes_)
      std::cerr << "---- node " << i << " log ----\n" << read_text(n.dir / "daemon.log");
    std::cerr << "---- emulator log (tail) ----\n";
    auto e = emu_.log();
    std::cerr << (e.size() > 6000 ? e.substr(e.size() - 6000) : e) << "\n";
  }

 private:
  std::vector<std::string> emulator_args() const {
    // A later --write-delay in emulator_args wins.
    std::vector<std::string> a = {"--access-key", std::string(key_id) + ":" + key_secret,
                                  "--write-delay", "200"};
    for (int i = 1; i <= o_.nodes; ++i)
      a.insert(a.end(), {"--instance", "i-node" + std::to_string(i) + "=" + public_ip(i)});
    a.insert(a.end(), o_.emulator_args.begin(), o_.emulator_args.end());
    return a;
  }

  cluster_options o_;
  alivpc_test::temp_dir dir_{"alivpc-daemon"};
  alivpc_test::etcd_process etcd_;
  alivpc_test::emulator_process emu_;
  std::map<int, node> nodes_;
  std::vector<std::string> extra_secrets_;
};

}  // namespace alivpc_daemon_test
