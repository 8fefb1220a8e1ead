// alivpc-emulator: the Alibaba Cloud VPC/ECS route API and ECS metadata service on loopback,
// backed by sim::vpc_model in real time. See sim/README.md for flags and fidelity limits.
#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/detail/bounded_json.hpp>
#include <alivpc/sim/emulator_server.hpp>
#include <alivpc/sim/world_file.hpp>

#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

using namespace alivpc;
using namespace alivpc::sim;

constexpr const char* usage =
    R"(alivpc-emulator: Alibaba Cloud VPC/ECS route API + ECS metadata emulator

  --listen HOST:PORT          address to serve (default 127.0.0.1:0; port 0 picks a free port)
  --tls-cert FILE --tls-key FILE   serve HTTPS with this PEM certificate and key
  --access-key ID:SECRET      an accepted AccessKey (repeatable; default testid:testsecret)
  --instance ID[=PRIVATE_IP]  an ECS instance in the first VPC (repeatable)
  --world FILE.json           world to load instead of the default (see sim/README.md)
  --region ID                 region of the default world (default cn-hangzhou)
  --quota N                   custom route entries per route table (default 200)
  --write-delay MS            Pending -> Available and Deleting -> gone delay (default 1000)
  --latency [ACTION=]SPEC     answer latency: MS, MIN-MAX (uniform) or ln:MEDIAN:SIGMA
  --throttle ACTION=N/60s     token bucket per action and AccessKey (ACTION * = every action)
  --fail ACTION=RATE[:KIND]   inject faults; KIND InternalError (default), ServiceUnavailable,
                              Throttling, Drop (close the connection without an answer)
                              or Timeout (never answer)
  --seed N                    seed of ids, latencies and faults (default 1)
  --ram-role NAME             RAM role of the instances (default alivpc-node; "" for none)
  --sts-ttl SECONDS           lifetime of the STS keys the metadata service hands out (3600)
  --metadata-token-required   hardened metadata mode: every GET needs X-aliyun-ecs-metadata-token
  --quiet                     do not log requests
  --help                      this text

The first line on stdout is "listening on http(s)://HOST:PORT".
)";

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "alivpc-emulator: %s (see --help)\n", msg.c_str());
  std::exit(2);
}

long to_long(const std::string& s, const std::string& flag) {
  try {
    std::size_t used = 0;
    long v = std::stol(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    usage_error(flag + ": \"" + s + "\" is not a number");
  }
}

latency_distribution parse_latency(const std::string& spec) {
  using std::chrono::milliseconds;
  if (spec.starts_with("ln:")) {
    auto colon = spec.find(':', 3);
    if (colon == std::string::npos) usage_error("--latency ln:MEDIAN:SIGMA");
    return latency_distribution::log_normal(
        milliseconds(to_long(spec.substr(3, colon - 3), "--latency")),
        std::stod(spec.substr(colon + 1)));
  }
  auto dash = spec.find('-');
  if (dash != std::string::npos)
    return latency_distribution::uniform(milliseconds(to_long(spec.substr(0, dash), "--latency")),
                                         milliseconds(to_long(spec.substr(dash + 1), "--latency")));
  return latency_distribution::fixed(milliseconds(to_long(spec, "--latency")));
}

struct instance_flag {
  std::string id;
  std::string ip;
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", tls_cert, tls_key, world_file, region = "cn-hangzhou";
  std::vector<std::pair<std::string, std::string>> keys;
  std::vector<instance_flag> instances;
  model_config cfg;
  emulator_options opts;
  std::uint64_t seed = 1;
  bool quiet = false;

  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) usage_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--listen") {
      listen = value();
    } else if (a == "--tls-cert") {
      tls_cert = value();
    } else if (a == "--tls-key") {
      tls_key = value();
    } else if (a == "--access-key") {
      auto v = value();
      auto colon = v.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == v.size())
        usage_error("--access-key expects ID:SECRET");
      keys.emplace_back(v.substr(0, colon), v.substr(colon + 1));
    } else if (a == "--instance") {
      auto v = value();
      auto eq = v.find('=');
      instances.push_back({v.substr(0, eq), eq == std::string::npos ? "" : v.substr(eq + 1)});
    } else if (a == "--world") {
      world_file = value();
    } else if (a == "--region") {
      region = value();
    } else if (a == "--quota") {
      cfg.quota_per_table = static_cast<std::size_t>(to_long(value(), a));
    } else if (a == "--write-delay") {
      cfg.write_delay = std::chrono::milliseconds(to_long(value(), a));
    } else if (a == "--latency") {
      auto v = value();
      auto eq = v.find('=');
      if (eq == std::string::npos)
        cfg.default_latency = parse_latency(v);
      else
        cfg.latency[v.substr(0, eq)] = parse_latency(v.substr(eq + 1));
    } else if (a == "--throttle") {
      auto v = value();
      auto eq = v.find('='), slash = v.find('/');
      if (eq == std::string::npos) usage_error("--throttle expects ACTION=N/60s");
      double n = static_cast<double>(to_long(
          v.substr(eq + 1, slash == std::string::npos ? std::string::npos : slash - eq - 1), a));
      double per_seconds = 60;
      if (slash != std::string::npos) {
        auto period = v.substr(slash + 1);
        if (!period.ends_with("s")) usage_error("--throttle period must be in seconds, e.g. 60s");
        per_seconds = static_cast<double>(to_long(period.substr(0, period.size() - 1), a));
        if (per_seconds <= 0) usage_error("--throttle period must be positive");
      }
      cfg.throttle_per_minute[v.substr(0, eq)] = n * 60.0 / per_seconds;
    } else if (a == "--fail") {
      auto v = value();
      auto eq = v.find('=');
      if (eq == std::string::npos) usage_error("--fail expects ACTION=RATE[:KIND]");
      auto rest = v.substr(eq + 1);
      auto colon = rest.find(':');
      fault_rule f;
      f.action = v.substr(0, eq);
      try {
        f.rate = std::stod(rest.substr(0, colon));
        f.kind = emulator_service::parse_fault_kind(
            colon == std::string::npos ? "" : rest.substr(colon + 1));
      } catch (const std::exception& e) {
        usage_error(std::string("--fail: ") + e.what());
      }
      cfg.faults.push_back(f);
    } else if (a == "--seed") {
      seed = static_cast<std::uint64_t>(to_long(value(), a));
    } else if (a == "--ram-role") {
      opts.ram_role = value();
    } else if (a == "--sts-ttl") {
      opts.sts_ttl = std::chrono::seconds(to_long(value(), a));
      if (opts.sts_ttl.count() <= 0) usage_error("--sts-ttl must be positive");
    } else if (a == "--metadata-token-required") {
      opts.metadata_token_required = true;
    } else if (a == "--quiet") {
      quiet = true;
    } else {
      usage_error("unknown argument \"" + a + "\"");
    }
  }
  if (tls_cert.empty() != tls_key.empty()) usage_error("--tls-cert and --tls-key go together");
  if (keys.empty()) keys.emplace_back("testid", "testsecret");

  try {
    vpc_model model(cfg, seed);
    if (!world_file.empty()) {
      std::ifstream in(world_file);
      if (!in) fail(error_kind::io, "cannot read world file " + world_file);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto world = alivpc::detail::parse_json_bounded(text, error_kind::invalid_argument,
                                                      "world file " + world_file);
      if (world.is_discarded())
        fail(error_kind::invalid_argument, "world file " + world_file + ": not valid JSON");
      load_world(model, world);
    } else {
      const auto& vpc = model.add_vpc(region, net::ipv4_cidr::parse("192.168.0.0/16"));
      model.add_vswitch(vpc.id, region + "-h", net::ipv4_cidr::parse("192.168.0.0/24"));
    }
    if (!instances.empty()) {
      if (model.vpcs().empty())
        fail(error_kind::invalid_argument, "--instance needs a VPC in the world");
      auto vpc_id = model.vpcs().begin()->first;
      std::uint32_t next_ip = 10;
      for (const auto& inst : instances) {
        std::string sw_id;
        net::ipv4_address ip;
        if (inst.ip.empty()) {
          const auto& sw = model.vswitches().at(model.vpcs().at(vpc_id).vswitch_ids.at(0));
          ip = net::ipv4_address(sw.cidr.network().value() + next_ip++);
          sw_id = sw.id;
        } else {
          ip = net::ipv4_address::parse(inst.ip);
          for (const auto& id : model.vpcs().at(vpc_id).vswitch_ids)
            if (model.vswitches().at(id).cidr.contains(ip)) sw_id = id;
          if (sw_id.empty()) {  // a vSwitch for the instance's /24
            const auto& vpc = model.vpcs().at(vpc_id);
            sw_id = model.add_vswitch(vpc_id, vpc.region_id + "-h", net::ipv4_cidr(ip, 24)).id;
          }
        }
        model.add_instance(inst.id, sw_id, ip);
      }
    }
    credential_store creds(seed);
    for (const auto& [id, secret] : keys)
      creds.add_key(id, secret);
    emulator_service service(model, creds, opts, seed);

    boost::asio::io_context io;
    std::optional<boost::asio::ssl::context> tls;
    if (!tls_cert.empty()) {
      tls.emplace(boost::asio::ssl::context::tls_server);
      tls->use_certificate_chain_file(tls_cert);
      tls->use_private_key_file(tls_key, boost::asio::ssl::context::pem);
    }
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) usage_error("--listen expects HOST:PORT");
    auto port = to_long(listen.substr(colon + 1), "--listen");
    if (port < 0 || port > 65535) usage_error("--listen port must be 0..65535");
    tcp::endpoint ep(boost::asio::ip::make_address(listen.substr(0, colon)),
                     static_cast<unsigned short>(port));
    request_logger log;
    if (!quiet)
      log = [](const std::string& method, const http_answer& a, clock_duration took) {
        std::fprintf(stderr, "alivpc-emulator: %s %s -> %d %s (%.1f ms)\n", method.c_str(),
                     a.action.c_str(), (a.drop || a.hang) ? 0 : a.status, a.outcome.c_str(),
                     std::chrono::duration<double, std::milli>(took).count());
      };
    emulator_server server(io, service, ep, std::move(tls), log);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    // Installed before the address is printed: a SIGTERM right after start is a clean stop.
    signals.async_wait([&](boost::system::error_code, int sig) {
      std::fprintf(stderr, "alivpc-emulator: signal %d, shutting down\n", sig);
      server.stop();
      io.stop();
    });
    server.start();
    std::printf("listening on %s\n", server.url().c_str());
    std::fflush(stdout);
    std::fprintf(
        stderr, "alivpc-emulator: %zu VPC(s), %zu instance(s), quota %zu, write delay %lld ms\n",
        model.vpcs().size(), model.instances().size(), cfg.quota_per_table,
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg.write_delay).count()));

    io.run();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "alivpc-emulator: %s\n", e.what());
    return 1;
  }
}
