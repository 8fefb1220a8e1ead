// One alivpc-emulator over HTTPS (CA made with openssl for this test) and an aliyun_route_api
// pointed at it, with every request it sends recorded and every log line kept.
#pragma once

#include <alivpc/runtime/asio_prelude.hpp>

#include <alivpc/cloud/aliyun_route_api.hpp>
#include <alivpc_test/emulator_http.hpp>
#include <alivpc_test/emulator_process.hpp>
#include <alivpc_test/query_param.hpp>
#include <alivpc_test/run_task.hpp>
#include <alivpc_test/temp_dir.hpp>
#include <alivpc_test/tls_certs.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace cloud_env {

namespace cloud = alivpc::cloud;
using api = cloud::aliyun_route_api;

// A request as it went out (method, target, headers), and when.
struct sent {
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (alivpc::http::iequals(k, name)) return v;
    return {};
  }
};

// Shared across the test binary: making certificates costs a second.
inline const alivpc_test::tls_certs& certs() {
  static alivpc_test::temp_dir dir("alivpc-cloud-certs");
  static alivpc_test::tls_certs c = alivpc_test::tls_certs::make(dir.path());
  return c;
}

inline std::vector<std::string> tls_args(std::vector<std::string> extra) {
  std::vector<std::string> args{
      "--tls-cert", certs().server_cert, "--tls-key", certs().server_key, "--instance",
      "i-1",        "--instance",        "i-2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

struct env {
  alivpc_test::emulator_process emu;
  boost::asio::io_context io;
  alivpc::asio_scheduler sched{io, 7};
  std::vector<std::string> logs;
  std::shared_ptr<std::vector<sent>> requests = std::make_shared<std::vector<sent>>();

  explicit env(std::vector<std::string> emulator_args = {"--write-delay", "0"})
      : emu(tls_args(std::move(emulator_args))) {}

  // Options for a client that reaches the emulator for everything, with static keys.
  cloud::aliyun_options options() {
    cloud::aliyun_options o;
    o.vpc_endpoint = emu.url();
    o.ca_file = certs().ca_cert;
    o.metadata.base_url = emu.url() + "/metadata/i-1";
    o.metadata.ca_file = certs().ca_cert;
    o.credentials.access_key_id = "testid";
    o.credentials.access_key_secret = cloud::secret("testsecret");
    o.credentials.getenv = [](const char*) { return std::optional<std::string>(); };
    o.retry.initial_backoff = std::chrono::milliseconds(20);
    o.retry.max_backoff = std::chrono::milliseconds(500);
    o.retry.conflict_wait = std::chrono::milliseconds(300);
    o.log = alivpc::logger(
        [this](alivpc::log_level, std::string_view, std::string_view m) { logs.emplace_back(m); },
        alivpc::log_level::debug);
    return o;
  }

  // The real HTTPS transport, recording each request before it goes out.
  cloud::transport_factory recording_transport() {
    auto real = cloud::http_transport(io);
    auto log = requests;
    return [real, log](const alivpc::http::url& u, const alivpc::http::client_options& o) {
      auto send = real(u, o);
      return cloud::send_function([send, log](alivpc::http::request r) {
        log->push_back({r.method, r.target, r.headers});
        return send(std::move(r));
      });
    };
  }

  std::unique_ptr<api> make(cloud::aliyun_options o) {
    return std::make_unique<api>(sched, recording_transport(), std::move(o));
  }
  std::unique_ptr<api> make() { return make(options()); }

  template <class T>
  T run(alivpc::task<T> t) {
    return alivpc_test::run_task(io, std::move(t));
  }

  // Emulator admin and stats.
  nlohmann::json admin(const std::string& method, const std::string& op_and_query) {
    alivpc_test::outgoing_request r;
    r.method = method;
    r.target = "/_emulator/" + op_and_query;
    auto res = alivpc_test::send(emu.url(), r, certs().ca_cert);
    EXPECT_EQ(res.status, 200) << op_and_query << ": " << res.body;
    return nlohmann::json::parse(res.body, nullptr, false);
  }
  // How many answers of `outcome` ("Success", "Throttling.User", ...) the action got.
  long count(const std::string& action, const std::string& outcome) {
    auto s = admin("GET", "stats");
    if (!s.contains("Actions") || !s["Actions"].contains(action)) return 0;
    auto& a = s["Actions"][action];
    return a.contains(outcome) ? a[outcome].get<long>() : 0;
  }
  long total(const std::string& action) {
    auto s = admin("GET", "stats");
    long n = 0;
    if (s.contains("Actions") && s["Actions"].contains(action))
      for (auto& [k, v] : s["Actions"][action].items())
        n += v.get<long>();
    return n;
  }
};

using alivpc_test::query_param;

// The action of a recorded request, V3 (header) or V1 (query).
inline std::string action_of(const sent& s) {
  auto a = s.header("x-acs-action");
  return a.empty() ? query_param(s.target, "Action") : a;
}

inline cloud::route_spec route(const std::string& table, const char* cidr,
                               const std::string& hop = "i-1") {
  return {table, alivpc::net::ipv4_cidr::parse(cidr), "Instance", hop};
}

}  // namespace cloud_env
